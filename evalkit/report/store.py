"""A run folder: results.json (written atomically), samples.jsonl (appended as batches finish), table.md."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from evalkit.errors import EvalkitError


def prepare_output(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise EvalkitError("the output folder is a file", path=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".evalkit-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise EvalkitError(f"output folder is not writable ({error.strerror})", path=folder) from None
    return folder


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename over it: never a half-written file, and
    a failed write (a full disk) leaves the previous version in place."""
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise EvalkitError(f"cannot write ({error.strerror})", path=path) from None


def write_json(path: Path, document: Any) -> None:
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


class SampleLog:
    """samples.jsonl, one JSON object a line, flushed after every batch."""

    def __init__(self, path: Path):
        self.path = path
        self.path.write_text("", encoding="utf-8")

    def append(self, records: Iterable[dict]) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            raise EvalkitError(f"cannot write ({error.strerror})", path=self.path) from None
