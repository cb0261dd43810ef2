"""A caller's model object lent to an evaluation and handed back as it came (training loops)."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Any, Iterator

import torch


@contextmanager
def borrowed(model: Any, processor: Any) -> Iterator[None]:
    """Eval mode for the evaluation (dropout off), then the caller's mode back; the tokenizer's
    padding side, which the adapters set to left for batched generation, restored too. The model's
    dtype and device are never changed."""
    was_training = bool(getattr(model, "training", False))
    tokenizer = getattr(processor, "tokenizer", None)
    padding_side = getattr(tokenizer, "padding_side", None)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
        if tokenizer is not None and padding_side is not None:
            tokenizer.padding_side = padding_side


def weights_fingerprint(model: Any) -> str:
    """What identifies a model object's weights cheaply (one sum per tensor, on its own device), so
    that an output folder written from other weights (an earlier training step) is not continued."""
    digest = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            total = float(tensor.double().sum()) if tensor.is_floating_point() else float(tensor.sum())
            digest.update(f"{name}:{tuple(tensor.shape)}:{total!r};".encode())
    return digest.hexdigest()[:24]
