"""What every data source shares: official files in a folder, or a Hugging Face copy."""

from __future__ import annotations

from pathlib import Path

from evalkit.data import hf
from evalkit.data.files import without_cycle_collection
from evalkit.data.skips import Skips
from evalkit.errors import EvalkitError
from evalkit.types import Example


class FilesOrHF:
    """A mixin for dataclasses with `splits` and `hf_splits` (role -> split name) that implement
    `_from_files(root, split, skips)` and `_from_hf(location, split)`."""

    splits: dict[str, str]
    hf_splits: dict[str, str]

    def split_name(self, role: str, hf_source: bool) -> str:
        return (self.hf_splits if hf_source else self.splits)[role]

    def load(self, location: str | Path, role: str, split: str | None = None,
             skips: Skips | None = None) -> list[Example]:
        """The split's examples in id order; `skips` says whether records the user may leave out
        (questions without annotations) are left out and listed, or refused."""
        source_is_hf = hf.looks_like_hf(location)
        split = split or self.split_name(role, source_is_hf)
        with without_cycle_collection():
            examples = self._from_hf(location, split) if source_is_hf else \
                self._from_files(Path(location), split, skips or Skips())
            return sorted_by_id(examples, location, split)

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        raise NotImplementedError

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        raise NotImplementedError


def sorted_by_id(examples: list[Example], location: str | Path, split: str) -> list[Example]:
    """Examples in id order; ids must be unique and of one kind (all numbers or all text)."""
    try:
        ordered = sorted(examples, key=lambda example: example.id)
    except TypeError:
        kinds = sorted({type(example.id).__name__ for example in examples})
        raise EvalkitError(f"split {split}: ids mix {' and '.join(kinds)} values", path=location) from None
    for before, after in zip(ordered, ordered[1:]):
        if before.id == after.id:
            raise EvalkitError(f"split {split}: duplicate id {after.id!r}", path=location)
    return ordered


def task_location(location: str, task: str) -> str:
    """A `--data-dir` for `task`: the task's (or its group's) sub-folder of a folder laid out as
    `evalkit make-data` writes it; the location itself otherwise (a task folder, a hub id)."""
    return str(task_folder(Path(location), task)) if Path(location).is_dir() else location


def task_folder(root: Path, task: str) -> Path:
    """`root/<task>` or `root/<group>` (the task name before '-', e.g. fairface) when that folder
    exists, the layout `evalkit make-data` writes; else `root` itself."""
    for name in (task, task.split("-", 1)[0]):
        if (root / name).is_dir():
            return root / name
    return root
