"""Random shots, reproducible from the trial seed and the query id alone.

Nothing here depends on the batch, the process rank or the order queries are visited in, so a run
split across batches or GPUs sees exactly the demos of a single-process run.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Sequence

from evalkit.errors import EvalkitError
from evalkit.types import Example


def stable_rng(*parts: object) -> random.Random:
    """A generator seeded from the text of `parts` (Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def draw_support(pool: Sequence[Example], size: int, seed: int) -> list[Example]:
    """The support set: `size` examples of the train split drawn once with the trial seed."""
    if not pool:
        raise EvalkitError("the support split is empty", field="support set")
    if size >= len(pool):
        return list(pool)
    chosen = sorted(random.Random(seed).sample(range(len(pool)), size))
    return [pool[index] for index in chosen]


def draw_support_per_class(pool: Sequence[Example], per_class: int, seed: int) -> list[Example]:
    """`per_class` examples of each class (the first reference), drawn with the trial seed."""
    by_class: dict[str, list[Example]] = {}
    for example in pool:
        by_class.setdefault(example.references[0], []).append(example)
    if not by_class:
        raise EvalkitError("the support split is empty", field="support set")
    chosen = []
    for name in sorted(by_class):
        members = by_class[name]
        chosen.extend(stable_rng(seed, "class", name).sample(members, min(per_class, len(members))))
    return sorted(chosen, key=lambda example: str(example.id))


def support_set(pool: Sequence[Example], size: int, per_class: int | None, seed: int) -> list[Example]:
    """The trial's support set: `per_class` examples of each class when given, else `size` in all."""
    return draw_support_per_class(pool, per_class, seed) if per_class else draw_support(pool, size, seed)


@dataclass
class RandomShots:
    """Each query gets its own k demos sampled without replacement from the support set."""

    support: Sequence[Example]
    seed: int
    name: str = "random"

    def select(self, query: Example, k: int) -> list[Example]:
        if k > len(self.support):
            raise EvalkitError(
                f"{k} shots asked for but the support set holds only {len(self.support)} examples",
                field="--shots",
            )
        candidates = [example for example in self.support if example.id != query.id]
        if k > len(candidates):
            candidates = list(self.support)
        return stable_rng(self.seed, query.id, k).sample(candidates, k)
