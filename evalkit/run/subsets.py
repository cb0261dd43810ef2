"""Which of a split's queries a run scores: all, the first N or a fraction (--limit), a seeded random
sample (--sample/--sample-seed) or the ids listed in a file (--ids), so that two models can score the
same queries. A sample is drawn from the sorted query ids, so it does not depend on the file's order.

Combinations: --ids first narrows the split to the listed ids, then --limit or --sample applies to
those. --limit and --sample together are contradictory (both say how many) and refused."""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from evalkit.errors import EvalkitError
from evalkit.types import Example


def parse_limit(text: str) -> int | float:
    """`--limit 50` (the first 50) or `--limit 0.1` (the first tenth); argparse type."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count or a fraction in (0, 1), not {text!r}") from None


@dataclass(frozen=True)
class Subset:
    """A subset rule; none given: the whole split."""

    limit: int | float | None = None
    sample: int | None = None
    sample_seed: int = 0
    ids: str | None = None  # path of the id file

    def validate(self) -> None:
        if self.limit is not None and self.sample is not None:
            raise EvalkitError("--limit and --sample both say how many queries: give one", field="--sample")
        if isinstance(self.limit, float) and not 0 < self.limit < 1:
            raise EvalkitError(f"a fraction must be in (0, 1), not {self.limit}", field="--limit")
        if isinstance(self.limit, int) and self.limit < 1:
            raise EvalkitError(f"must be at least 1, not {self.limit}", field="--limit")
        if self.sample is not None and self.sample < 1:
            raise EvalkitError(f"must be at least 1, not {self.sample}", field="--sample")

    def describe(self) -> str:
        """The rule in words, as a label and in compare's notes."""
        parts = [f"--ids {Path(self.ids).name}"] if self.ids else []
        if isinstance(self.limit, float):
            parts.append(f"--limit {self.limit}")
        elif self.limit is not None:
            parts.append(f"--limit {self.limit}")
        if self.sample is not None:
            parts.append(f"--sample {self.sample} --sample-seed {self.sample_seed}")
        return " ".join(parts) or "all"

    def select(self, queries: Sequence[Example]) -> list[Example]:
        """The queries this rule keeps, in the split's order."""
        chosen = list(queries)
        if self.ids:
            chosen = _listed(chosen, Path(self.ids))
        if isinstance(self.limit, float):
            chosen = chosen[: math.ceil(self.limit * len(chosen))]  # ceil: a fraction of a small split keeps 1
        elif self.limit is not None:
            chosen = chosen[: self.limit]
        if self.sample is not None and self.sample < len(chosen):
            ordered = sorted(str(example.id) for example in chosen)
            picked = set(random.Random(self.sample_seed).sample(ordered, self.sample))
            chosen = [example for example in chosen if str(example.id) in picked]
        return chosen


def read_ids(path: Path) -> list[str]:
    """A JSON list, or one id per line; ids as text (VQAv2's are ints, others' strings: compared as text)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EvalkitError(f"cannot read the id file: {error.strerror}", field="--ids", path=str(path)) from None
    if text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise EvalkitError(f"not a JSON list: {error.msg} (line {error.lineno})", field="--ids",
                               path=str(path)) from None
        return [str(value) for value in values]
    return [line.strip() for line in text.splitlines() if line.strip()]


def _listed(queries: list[Example], path: Path) -> list[Example]:
    wanted = read_ids(path)
    if not wanted:
        raise EvalkitError("the id file lists no ids", field="--ids", path=str(path))
    present = {str(example.id) for example in queries}
    missing = [value for value in wanted if value not in present]
    if missing:
        raise EvalkitError(f"id {missing[0]} is not in the query split ({len(missing)} missing)", field="--ids",
                           path=str(path))
    keep = set(wanted)
    return [example for example in queries if str(example.id) in keep]
