"""FLOPs counted with torch's FlopCounterMode, attention on the CPU included.

torch's counter knows the GPU attention kernels but not the one SDPA picks on a CPU
(`_scaled_dot_product_flash_attention_for_cpu`), which it would count as zero; it is added here
with the same formula (the two matrix products; masked positions count, as the kernels compute
them). Benchmarks use this to state what each method costs where a 2-core CPU hides it.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count


def _cpu_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode (no printed table) that also counts the CPU attention kernel."""
    mapping = {}
    cpu_attention = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if cpu_attention is not None:
        mapping[cpu_attention] = _cpu_attention_flops
    return FlopCounterMode(display=False, custom_mapping=mapping)
