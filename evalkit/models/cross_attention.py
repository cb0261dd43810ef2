"""Image keys and values projected once per prompt batch instead of at every generated token.

transformers' IDEFICS projects the image states to keys and values in every gated cross-attention
layer at every forward, and generation runs one forward per new token over the same image states:
at 32 shots that re-projection is most of the work (measured: about 80% of a 32-shot batch of a
mid-size model). The states do not change during a `generate` call, so each layer's projection is
kept while its input is the same tensor.
"""

from __future__ import annotations

from typing import Any

import torch


class ReusedProjection(torch.nn.Module):
    """A key or value projection that returns its last output when given the same input again.

    "The same" means the same memory, shape and stride (and version counter outside inference mode);
    the last input is held, so its memory cannot be taken by another tensor while it is remembered.
    """

    def __init__(self, projection: torch.nn.Module):
        super().__init__()
        self.projection = projection
        self._input: torch.Tensor | None = None
        self._output: torch.Tensor | None = None

    @property
    def weight(self) -> torch.Tensor:
        return self.projection.weight

    def _same_input(self, states: torch.Tensor) -> bool:
        last = self._input
        if last is None or last.is_inference() != states.is_inference():
            return False
        # Inference-mode tensors keep no version counter; generation never writes into the image states.
        same_version = states.is_inference() or last._version == states._version
        return (last.data_ptr() == states.data_ptr() and last.shape == states.shape and same_version
                and last.stride() == states.stride() and last.device == states.device and last.dtype == states.dtype)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or not self._same_input(states):
            output = self.projection(states)
            self._input, self._output = (None, None) if torch.is_grad_enabled() else (states, output)
            return output
        return self._output  # type: ignore[return-value]

    def forget(self) -> None:
        self._input = self._output = None


def image_projections(model: Any) -> list[tuple[torch.nn.Module, str, ReusedProjection]]:
    """(attention module, attribute, wrapper) for the key and value projection of every gated
    cross-attention layer of an IDEFICS model; the wrappers are made here, not yet installed."""
    found = []
    for layer in model.model.gated_cross_attn_layers:
        attention = layer.cross_attn
        for name in ("k_proj", "v_proj"):
            module = getattr(attention, name)
            if isinstance(module, ReusedProjection):  # left installed by an adapter that did not finish
                module = module.projection
            found.append((attention, name, ReusedProjection(module)))
    return found
