"""What a run writes into its folder besides results.json: samples.jsonl as settings finish, and the
clean-up of a folder that a rerun takes over (killed writes' temporary files, a discarded run's files)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable

from evalkit.errors import EvalkitError
from evalkit.files import TEMPORARY_SUFFIX, write_json
from evalkit.report.store import RESULTS_FILE, SAMPLES_FILE

_OLD_TEMPORARY = re.compile(r"^\.(results\.json|table\.md|runtime\.json|identity\.json|predictions_.+\.json)"
                            r"\.[a-z0-9_]{8}$")  # written by versions before the suffix


def remove_temporary_files(folder: Path) -> list[Path]:
    """Delete the temporary files killed writes left in a run folder (and its progress/); returns them."""
    left = [path for place in (folder, folder / "progress") if place.is_dir() for path in place.iterdir()
            if path.is_file() and (path.name.endswith(TEMPORARY_SUFFIX) or _OLD_TEMPORARY.match(path.name))]
    for path in left:
        path.unlink(missing_ok=True)
    return left


def mark_unfinished(folder: Path) -> None:
    """Before a rerun changes anything, its old results.json says it is no longer a finished run."""
    path = folder / RESULTS_FILE
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(results, dict) and results.get("finished"):
        write_json(path, {**results, "finished": False})


def discard_outputs(folder: Path) -> None:
    """The files of a run `--force` discards (results.json first, so no reader sees half of them)."""
    for path in (folder / RESULTS_FILE, folder / SAMPLES_FILE, folder / "table.md", folder / "runtime.json",
                 *sorted(folder.glob("predictions_*.json"))):
        path.unlink(missing_ok=True)


LOG_LEVELS = ("full", "compact", "none")
# What `--log-samples compact` leaves out: the prompt text, the bulk of a many-shot record (the ids of
# the query and its demos, and the prompt's hash, say which prompt it was).
COMPACT_LEAVES_OUT = ("prompt",)


class SampleLog:
    """samples.jsonl, one JSON object a line, flushed after every batch; at level "compact" without
    the prompt text, at "none" not written at all (an earlier run's file is removed: it would not
    be this run's)."""

    def __init__(self, path: Path, level: str = "full"):
        self.path = path
        self.level = level
        if level == "none":
            self.path.unlink(missing_ok=True)
        else:
            self.path.write_text("", encoding="utf-8")

    def append(self, records: Iterable[dict]) -> None:
        if self.level == "none":
            return
        if self.level == "compact":
            records = ({k: v for k, v in record.items() if k not in COMPACT_LEAVES_OUT} for record in records)
        try:
            with self.path.open("a", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            raise EvalkitError(f"cannot write ({error.strerror})", path=self.path) from None
