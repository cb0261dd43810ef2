"""Batched generation with batches formed from prompts of similar length."""

from __future__ import annotations

from typing import Callable, Sequence

from evalkit.models.base import ModelAdapter
from evalkit.prompts.builder import prompt_images, prompt_text
from evalkit.taskspec import GenerationSettings
from evalkit.types import Prompt


def length_sorted_batches(prompts: Sequence[Prompt], batch_size: int) -> list[list[int]]:
    """Indices grouped so that each batch holds prompts of similar size (images, then characters).

    Ties keep the original order, so the grouping is deterministic.
    """
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    order = sorted(range(len(prompts)),
                   key=lambda i: (len(prompt_images(prompts[i])), len(prompt_text(prompts[i])), i))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def generate_all(adapter: ModelAdapter, prompts: Sequence[Prompt], batch_size: int,
                 settings: GenerationSettings, stop_strings: Sequence[str],
                 on_batch: Callable[[list[int], list[str]], None]) -> list[str]:
    """Generations for every prompt, in the prompts' order; `on_batch` sees each finished batch."""
    outputs: list[str | None] = [None] * len(prompts)
    for indices in length_sorted_batches(prompts, batch_size):
        texts = adapter.generate([prompts[i] for i in indices], settings, stop_strings)
        for index, text in zip(indices, texts):
            outputs[index] = text
        on_batch(indices, texts)
    return [text if text is not None else "" for text in outputs]
