"""Files written whole or not at all: the run folder's JSON and tables, baselines, reports."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError


def prepare_output(folder: Path) -> Path:
    """Create `folder` and check it is writable. Every process of a data-parallel run calls this at
    once, so each probes with a file of its own (a shared name let one process delete another's probe)."""
    if folder.exists() and not folder.is_dir():
        raise EvalkitError("the output folder is a file", path=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".evalkit-write-test-"):
            pass
    except OSError as error:
        raise EvalkitError(f"output folder is not writable ({error.strerror})", path=folder) from None
    return folder


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename over it: never a half-written file, and
    a failed write (a full disk) leaves the previous version in place. The file gets the permissions
    the user's umask gives any new file (mkstemp alone would make it private)."""
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise EvalkitError(f"cannot write ({error.strerror})", path=path) from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# A temporary file of `write_atomic` is `.<name>.<random><suffix>`; older versions wrote it without
# the suffix (evalkit/run/writer.py). Any found when a run starts is left by a process killed mid-write.
TEMPORARY_SUFFIX = ".evalkit-tmp"


def write_json(path: Path, document: Any) -> None:
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
