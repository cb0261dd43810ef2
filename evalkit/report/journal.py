"""What makes a run resumable: every finished query's raw output appended to the run folder as it
completes, and the run's identity, so that a rerun continues the same run and never another.

    <run>/progress/identity.json                               what the predictions depend on
    <run>/progress/<task>_<k>shot_seed<s>.rank<r>.jsonl          {"index", "id", "prompt", "output"} per query

"prompt" is a digest of the query's whole prompt (text and image files): an output is reused only for
the very prompt it was computed from, so a change the identity does not name (a data reader, the
shot selection code) cannot slip old outputs into a new run.

Each process appends to its own file, flushed and fsynced after every batch; a crash loses at most the
batch in flight (a half-written last line is ignored on reading). Reading takes every process's file,
so a rerun may use another process count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Sequence

from evalkit.errors import EvalkitError
from evalkit.report.store import write_json
from evalkit.types import Example

PROGRESS = "progress"


def claim_output(folder: Path, identity: dict[str, Any], force: bool) -> None:
    """Start or continue the run in `folder`: refuse one whose predictions came from another
    configuration, unless `force` (which discards them)."""
    progress = folder / PROGRESS
    stored_file = progress / "identity.json"
    if stored_file.is_file():
        stored = _read_identity(stored_file)
        changed = _differences(stored, identity)
        if changed and not force:
            raise EvalkitError(
                f"holds predictions of a different run (changed: {', '.join(changed)}); "
                "rerun with --force to discard them, or choose another --output", path=folder)
        if changed:
            shutil.rmtree(progress)
    progress.mkdir(parents=True, exist_ok=True)
    write_json(stored_file, identity)


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of what differs, one level into nested objects (config.shots, templates.vqav2)."""
    changed = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if not prefix and isinstance(before, dict) and isinstance(after, dict):
            changed += _differences(before, after, f"{key}.")
        else:
            changed.append(prefix + key)
    return changed


def _read_identity(path: Path) -> dict[str, Any]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvalkitError(f"unreadable run identity ({error}); rerun with --force to start over", path=path) from None
    if not isinstance(stored, dict):
        raise EvalkitError("run identity is not a JSON object; rerun with --force to start over", path=path)
    return json.loads(json.dumps(stored))


def as_identity(document: Any) -> Any:
    """The JSON form of `document` (tuples as lists...), so a stored identity compares equal to a new one."""
    return json.loads(json.dumps(document, default=str))


class Journal:
    """One setting's (task, shots, seed) finished outputs, for this process."""

    def __init__(self, folder: Path, setting: str, rank: int):
        self.folder = folder / PROGRESS
        self.setting = setting
        self.path = self.folder / f"{setting}.rank{rank}.jsonl"
        self._drop_partial_line()

    def _drop_partial_line(self) -> None:
        """Cut a half-written last line (the process was killed mid-append) so appends start clean."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as out:
                out.truncate(data.rfind(b"\n") + 1)

    def completed(self, queries: Sequence[Example], digests: Sequence[str]) -> dict[int, Any]:
        """Outputs already computed for this setting by any process, by query index; `digests` are
        the current prompts' (`prompt_digest`)."""
        done: dict[int, Any] = {}
        for path in sorted(self.folder.glob(f"{self.setting}.rank*.jsonl")):
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), 1):
                record = _parse(line)
                if record is None:
                    continue
                index = record.get("index")
                if not isinstance(index, int) or not 0 <= index < len(queries) or record.get("id") != queries[index].id:
                    raise EvalkitError(f"line {number} is for another question list (the data or --limit "
                                       "changed); rerun with --force to start over", path=path)
                if record.get("prompt") != digests[index]:
                    raise EvalkitError(f"line {number}: question {queries[index].id} now has another prompt than "
                                       "its saved output (data, demos or templates changed); rerun with --force "
                                       "to start over", path=path)
                done[index] = record["output"]
        return done

    def append(self, entries: Iterable[tuple[int, Example, str, Any]]) -> None:
        """(index, query, prompt digest, output) records, flushed and fsynced together."""
        lines = "".join(json.dumps({"index": i, "id": query.id, "prompt": digest, "output": output},
                                   ensure_ascii=False) + "\n" for i, query, digest, output in entries)
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(lines)
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            raise EvalkitError(f"cannot write ({error.strerror}); the outputs written so far are kept, rerun "
                               "the same command to continue", path=self.path) from None


def prompt_digest(prompt: Sequence[object]) -> str:
    """A short digest of a prompt: its texts and its images' keys (their files), in order."""
    parts = [segment if isinstance(segment, str) else f"\x00image:{getattr(segment, 'key', segment)}\x00"
             for segment in prompt]
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()[:16]


def _parse(line: str) -> dict | None:
    """A record, or None for an empty or half-written line (a crash during the last append)."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and "output" in record else None
