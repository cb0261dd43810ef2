"""Batched inference: batches of similar-length prompts, inputs prepared ahead of the model in
DataLoader workers (for generation and for choice scoring), and the batch size (choices per forward
when scoring) halved when the accelerator runs out of memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterator, Sequence

import torch

from evalkit.errors import EvalkitError
from evalkit.models.base import ContinuationScore, ModelAdapter
from evalkit.prompts.builder import prompt_images, prompt_text
from evalkit.taskspec import GenerationSettings
from evalkit.types import Prompt

OUT_OF_MEMORY = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError),)


def length_sorted_batches(prompts: Sequence[Prompt], batch_size: int) -> list[list[int]]:
    """Indices grouped so that each batch holds prompts of similar size (images, then characters).

    Ties keep the original order, so the grouping is deterministic.
    """
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    order = length_order(prompts)
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def length_order(prompts: Sequence[Prompt]) -> list[int]:
    return sorted(range(len(prompts)), key=lambda i: (len(prompt_images(prompts[i])), len(prompt_text(prompts[i])), i))


@dataclass
class BatchingReport:
    """What the batching did, for results.json. `batch_size` counts prompts per generate call, or
    choices per forward when scoring choices."""

    batch_size: int
    workers: int
    backoffs: list[dict[str, int]] = field(default_factory=list)

    @property
    def final_batch_size(self) -> int:
        return self.backoffs[-1]["to"] if self.backoffs else self.batch_size


class _EncodedBefore:
    """The image keys a batch can take as encoded: cached at the start, or seen by an earlier batch
    (whose features the cache will hold by then, unless evicted: then the adapter decodes them late)."""

    def __init__(self, first_batch: dict[str, int], batch: int, cached: Collection[str]):
        self.first_batch, self.batch, self.cached = first_batch, batch, cached

    def __contains__(self, key: object) -> bool:
        return key in self.cached or self.first_batch.get(key, self.batch) < self.batch  # type: ignore[arg-type]


class _PreparedBatches(torch.utils.data.Dataset):
    """Item b: batch b's indices and its prepared inputs (token ids, masks, new images' pixels)."""

    def __init__(self, adapter: Any, prompts: Sequence[Prompt], batches: list[list[int]]):
        self.preparer = adapter.prepare
        self.prompts, self.batches = prompts, batches
        cached = adapter.cached_image_keys()
        self.reuses_features = cached is not None
        self.cached = frozenset(cached or ())
        self.first_batch: dict[str, int] = {}
        for number, indices in enumerate(batches if self.reuses_features else []):
            for index in indices:
                for image in prompt_images(prompts[index]):
                    self.first_batch.setdefault(image.key, number)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, number: int) -> tuple[list[int], Any]:
        indices = self.batches[number]
        skip = _EncodedBefore(self.first_batch, number, self.cached)
        return indices, self.preparer([self.prompts[i] for i in indices], skip)


def _as_is(item: Any) -> Any:
    return item


def prepared_batches(adapter: Any, prompts: Sequence[Prompt], batches: list[list[int]],
                     workers: int) -> Iterator[tuple[list[int], Any]]:
    """Each batch's indices with its prepared inputs, made `workers` DataLoader processes ahead of
    the model (in this process when 0)."""
    dataset = _PreparedBatches(adapter, prompts, batches)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                                         collate_fn=_as_is, prefetch_factor=2 if workers else None)
    yield from loader


def _batches(adapter: Any, prompts: Sequence[Prompt], indices: list[int], batch_size: int, settings: GenerationSettings,
             stop_strings: Sequence[str], workers: int) -> Iterator[tuple[list[int], list[str]]]:
    batches = [[indices[i] for i in batch] for batch in
               length_sorted_batches([prompts[i] for i in indices], batch_size)]
    if not hasattr(adapter, "prepare"):  # an adapter that takes whole prompts only
        for batch in batches:
            yield batch, adapter.generate([prompts[i] for i in batch], settings, stop_strings)
        return
    for batch, prepared in prepared_batches(adapter, prompts, batches, workers):
        yield batch, adapter.generate_prepared(prepared, settings, stop_strings)


def score_all(adapter: Any, prompts: Sequence[Prompt], indices: Sequence[int],
              continuations: Callable[[int], list[str]], batch_size: int,
              on_batch: Callable[[list[int], list[list[ContinuationScore]]], None], workers: int = 0,
              with_prompt: bool = False) -> BatchingReport:
    """Score `continuations(i)` after each prompt i of `indices`; `on_batch` gets each finished
    batch's indices and scores. An adapter with `score_prepared_batch` takes `batch_size` prompts of
    similar length per call (inputs prepared ahead, `workers` processes), all their candidates
    following in shared forwards; any other scores one prompt at a time (each prompt's keys/values
    serving all its candidates). On out-of-memory the candidates scored per forward are halved for
    what is left (recorded in the report). `with_prompt`: scores also carry their prompt's own
    log-probability (for scores over the whole sequence)."""
    report = BatchingReport(adapter.choices_per_forward, workers)
    done = 0
    for batch, prepared in _scoring_batches(adapter, prompts, indices, batch_size, workers):
        scores = _score_backing_off(adapter, [prompts[i] for i in batch], prepared,
                                    [continuations(i) for i in batch], report, done, with_prompt)
        on_batch(batch, scores)
        done += len(batch)
    return report


def _scoring_batches(adapter: Any, prompts: Sequence[Prompt], indices: Sequence[int], batch_size: int,
                     workers: int) -> Iterator[tuple[list[int], Any]]:
    """(indices of a batch, its prepared inputs, or None for an adapter that takes whole prompts: then
    the batches are of `batch_size` prompts in the order given)."""
    if not hasattr(adapter, "score_prepared_batch"):
        for start in range(0, len(indices), batch_size):
            yield list(indices[start:start + batch_size]), None
        return
    batches = [[indices[i] for i in batch] for batch in
               length_sorted_batches([prompts[i] for i in indices], batch_size)]
    yield from prepared_batches(adapter, prompts, batches, workers)


def _score_backing_off(adapter: Any, prompts: list[Prompt], prepared: Any, continuations: list[list[str]],
                       report: BatchingReport, after_prompts: int,
                       with_prompt: bool = False) -> list[list[ContinuationScore]]:
    while True:
        size = report.final_batch_size
        try:
            asked = {"with_prompt": True} if with_prompt else {}  # adapters need not know the option otherwise
            if prepared is None:
                return [adapter.score_continuations(prompt, choices, chunk_size=size, **asked)
                        for prompt, choices in zip(prompts, continuations)]
            return adapter.score_prepared_batch(prepared, prompts, continuations, chunk_size=size, **asked)
        except OUT_OF_MEMORY:
            smallest = ("scoring one choice after one prompt" if len(prompts) == 1 else
                        f"scoring one choice after each of {len(prompts)} prompts (try a smaller --batch-size)")
            _back_off(report, size, after_prompts, smallest)


def generate_all(adapter: ModelAdapter, prompts: Sequence[Prompt], batch_size: int,
                 settings: GenerationSettings, stop_strings: Sequence[str],
                 on_batch: Callable[[list[int], list[str]], None], workers: int = 0,
                 indices: Sequence[int] | None = None) -> BatchingReport:
    """Generate for `indices` (default: every prompt); `on_batch` gets each finished batch's
    indices and texts. On out-of-memory the batch size is halved for what is left (recorded in the
    report); a batch of one that does not fit is an error."""
    report = BatchingReport(batch_size, workers)
    remaining = list(range(len(prompts)) if indices is None else indices)
    size, total = batch_size, len(remaining)
    while remaining:
        done: set[int] = set()
        try:
            for batch, texts in _batches(adapter, prompts, remaining, size, settings, stop_strings, workers):
                on_batch(batch, texts)
                done.update(batch)
            return report
        except OUT_OF_MEMORY:
            size = _back_off(report, size, total - len(remaining) + len(done), "a batch of one prompt")
            remaining = [i for i in remaining if i not in done]
    return report


def _back_off(report: BatchingReport, size: int, after_prompts: int, smallest: str) -> int:
    """After out-of-memory at `size`: record the halving and return the new size; at size 1
    (`smallest` says what that is) there is nothing left to halve, so it is an error."""
    if size == 1:
        raise EvalkitError(f"out of memory with {smallest}; use a smaller --dtype, --device-map auto or a "
                           "bigger GPU", field="--batch-size") from None
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    report.backoffs.append({"from": size, "to": size // 2, "after_prompts": after_prompts})
    return size // 2
