"""What every data source shares: official files in a folder, or a Hugging Face copy."""

from __future__ import annotations

from pathlib import Path

from evalkit.data import hf
from evalkit.types import Example


class FilesOrHF:
    """A mixin for dataclasses with `splits` and `hf_splits` (role -> split name) that implement
    `_from_files(root, split)` and `_from_hf(location, split)`."""

    splits: dict[str, str]
    hf_splits: dict[str, str]

    def split_name(self, role: str, hf_source: bool) -> str:
        return (self.hf_splits if hf_source else self.splits)[role]

    def load(self, location: str | Path, role: str, split: str | None = None) -> list[Example]:
        source_is_hf = hf.looks_like_hf(location)
        split = split or self.split_name(role, source_is_hf)
        examples = self._from_hf(location, split) if source_is_hf else self._from_files(Path(location), split)
        return sorted(examples, key=lambda example: example.id)

    def _from_files(self, root: Path, split: str) -> list[Example]:
        raise NotImplementedError

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        raise NotImplementedError


def task_folder(root: Path, task: str) -> Path:
    """`root/<task>` or `root/<group>` (the task name before '-', e.g. fairface) when that folder
    exists, the layout `evalkit make-data` writes; else `root` itself."""
    for name in (task, task.split("-", 1)[0]):
        if (root / name).is_dir():
            return root / name
    return root
