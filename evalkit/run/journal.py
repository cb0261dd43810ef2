"""What makes a run resumable: every finished query's raw output appended to the run folder as it
completes, and the run's identity, so that a rerun continues the same run and never another.

    <run>/progress/identity.json                               what the predictions depend on
    <run>/progress/<task>_<k>shot_seed<s>.rank<r>.jsonl          {"index", "id", "prompt", "output"} per query

An output is reused for the query with its id whose prompt is still the one it was computed from:
"prompt" is a digest of the query's whole prompt (texts, and each image's content: its file's size
and modification time), so a change the identity does not name (a replaced image, an edited question,
a data reader, the shot selection code) cannot slip old outputs into a new run: those queries are
recomputed and listed. Outputs are keyed by query id, so a larger --limit or another shot count
extends the run.

Each process appends to its own file, flushed and fsynced after every batch; a crash loses at most the
batch in flight (a half-written last line is ignored on reading). Reading takes every process's file,
so a rerun may use another process count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from evalkit.errors import EvalkitError
from evalkit.run.lock import FolderLock, lock_folder
from evalkit.files import write_json
from evalkit.run.writer import discard_outputs, remove_temporary_files
from evalkit.types import Example, content_id

PROGRESS = "progress"


def take_folder(folder: Path, identity: dict[str, Any], force: bool) -> FolderLock:
    """Start a run in `folder`: lock it for the run's life, remove what killed writes left, claim it."""
    lock = lock_folder(folder)
    try:
        remove_temporary_files(folder)
        claim_output(folder, identity, force)
    except BaseException:
        lock.release()
        raise
    return lock


def claim_output(folder: Path, identity: dict[str, Any], force: bool) -> None:
    """Start or continue the run in `folder`: refuse one whose predictions came from another
    configuration, unless `force` (which discards them and the files made from them). Tasks of
    earlier commands that this one does not run stay in the stored identity: a later command may
    come back to them."""
    progress = folder / PROGRESS
    stored_file = progress / "identity.json"
    if stored_file.is_file():
        stored = _read_identity(stored_file)
        changed = _differences(stored, identity)
        if changed and not force:
            raise EvalkitError(
                f"holds predictions of a different run (changed: {'; '.join(changed)}); "
                "rerun with --force to discard them, or choose another --output", path=folder)
        if changed:
            discard_outputs(folder)
            shutil.rmtree(progress)
        else:
            identity = {**identity, "tasks": {**stored.get("tasks", {}), **identity.get("tasks", {})}}
    progress.mkdir(parents=True, exist_ok=True)
    write_json(stored_file, identity)


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "", depth: int = 0) -> list[str]:
    """What differs, named with dots and shown as `old -> new` where short (config.shots,
    tasks.vqav2.data): two levels into nested objects; under `tasks`, only the tasks both name."""
    keys = set(old) & set(new) if prefix == "tasks." else set(old) | set(new)
    changed = []
    for key in sorted(keys):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if depth < 2 and isinstance(before, dict) and isinstance(after, dict):
            changed += _differences(before, after, f"{prefix}{key}.", depth + 1)
        else:
            changed.append(prefix + key + _shown(before, after))
    return changed


def _shown(before: Any, after: Any) -> str:
    texts = [json.dumps(value, ensure_ascii=False) for value in (before, after)]
    return "" if any(len(text) > 80 for text in texts) else f": {texts[0]} -> {texts[1]}"


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

    def completed(self, queries: Sequence[Example], digests: Sequence[str]) -> "Completed":
        """Outputs already computed for this setting by any process, by query index: a saved output
        counts for the query with its id whose prompt (`prompt_digest`) is still the one it was
        computed from. Outputs of queries no longer asked for (a smaller --limit) are left alone."""
        position = {query.id: index for index, query in enumerate(queries)}
        done: dict[int, Any] = {}
        stale: set[int] = set()
        for path in sorted(self.folder.glob(f"{self.setting}.rank*.jsonl")):
            for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
                record = _parse(line)
                index = position.get(_hashable(record.get("id"))) if record is not None else None
                if index is None:
                    continue
                if record["prompt"] == digests[index]:
                    done[index] = record["output"]
                else:
                    stale.add(index)
        return Completed(done, sorted(stale - set(done)))

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


@dataclass(frozen=True)
class Completed:
    """A setting's saved outputs still valid (by query index), and the queries whose saved output was
    computed from another prompt (an image, question or demo changed since): those are recomputed."""

    outputs: dict[int, Any]
    changed: list[int]


def query_digests(prompt_sets: Sequence[Sequence[Sequence[object]]], separator: str) -> list[str]:
    """One digest per query: of its prompt, or of its prompts joined by `separator` (a prompt per image)."""
    return prompt_digests([[part for prompt in prompts for part in (*prompt, separator)]
                           if len(prompts) > 1 else prompts[0] for prompts in prompt_sets])


def prompt_digests(prompts: Sequence[Sequence[object]]) -> list[str]:
    """A short digest of each prompt: its texts and its images' content (a file's path, size and
    modification time; a dataset row's key and its dataset's fingerprint), in order. Each image file
    is looked at once."""
    seen: dict[str, str] = {}

    def image_part(image: Any) -> str:
        key = getattr(image, "key", str(image))
        if key not in seen:
            seen[key] = content_id(image)
        return f"\x00image:{seen[key]}\x00"

    return [hashlib.sha256("".join(segment if isinstance(segment, str) else image_part(segment)
                                   for segment in prompt).encode("utf-8")).hexdigest()[:16]
            for prompt in prompts]


def prompt_digest(prompt: Sequence[object]) -> str:
    return prompt_digests([prompt])[0]


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (int, str)) else None


def _parse(line: str) -> dict | None:
    """A record, or None for an empty or half-written line (a crash during the last append)."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and "output" in record and "prompt" in record else None
