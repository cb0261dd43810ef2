"""The results store: one folder per run.

A run folder holds results.json (config, model, environment and per task and shot count the per-seed
aggregates with their mean and std; rewritten atomically after every task, `"finished": true` once the
run is complete), samples.jsonl (one line per query and seed, appended as settings finish: task, shots,
seed, id, demo_ids, prompt, generation, prediction, score, and the gold class for ranking tasks; a
task that scores one prompt per image records a list of prompts, a table of choice scores and the
best choice of each row), examples.jsonl (what those ids stand for: each query's and demo's image,
text and references, once per run; `evalkit/example_log.py`),
predictions_*.json (each setting in the benchmark's official results format) and table.md.
`evalkit run` writes under results/runs/ by default; committed baselines live in results/baselines/,
published reference numbers in results/published/. `evalkit table / compare / plot` read only these files.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from evalkit.errors import EvalkitError

RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
EXAMPLES_FILE = "examples.jsonl"  # written by evalkit/example_log.py


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
# the suffix. Any found when a run starts is left by a process killed mid-write.
TEMPORARY_SUFFIX = ".evalkit-tmp"
_OLD_TEMPORARY = re.compile(r"^\.(results\.json|table\.md|runtime\.json|identity\.json|predictions_.+\.json)"
                            r"\.[a-z0-9_]{8}$")


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


@dataclass(frozen=True)
class StoredRun:
    """A run folder as read back: its folder and its results.json document."""

    folder: Path
    results: dict[str, Any]

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def finished(self) -> bool:
        """A run marked `"finished": true`; `evalkit score` results are whole when written."""
        if "finished" not in self.results:
            return "predictions" in (self.results.get("config") or {})
        return self.results["finished"] is True

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.results["tasks"]

    def model_label(self) -> str:
        """The run's label, else its model: a local checkpoint folder by its name, a hub id as it is."""
        if self.results.get("label"):
            return str(self.results["label"])
        model = str(self.results.get("model", {}).get("model") or self.results.get("config", {}).get("model", "?"))
        return Path(model.rstrip("/")).name if Path(model).exists() else model

    def samples(self) -> Iterator[dict[str, Any]]:
        """samples.jsonl, one record at a time (the file can be large: prompts are kept whole)."""
        path = self.folder / SAMPLES_FILE
        if not path.is_file():
            raise EvalkitError("file not found (per-sample scores are needed here)", path=path)
        for number, record in jsonl_records(path):
            for key in ("task", "shots", "seed", "id", "score"):
                if key not in record:
                    raise EvalkitError(f"line {number} has no field", path=path, field=key)
            yield record


def jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each line of a JSON-lines file, read as it goes (a run's files can be
    large); a line that is not a JSON object is a one-line error."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalkitError(f"line {number} is not JSON ({error.msg})", path=path) from None
            if not isinstance(record, dict):
                raise EvalkitError(f"line {number} is not a JSON object", path=path)
            yield number, record


def load_run(location: Path) -> StoredRun:
    """A run folder (or its results.json), checked for the fields the reports read."""
    path = location / RESULTS_FILE if location.is_dir() else location
    if not path.is_file():
        raise EvalkitError("no results.json here: not a run folder", path=location)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvalkitError(f"not a JSON results file ({error})", path=path) from None
    if not isinstance(results, dict) or not isinstance(results.get("tasks"), dict):
        raise EvalkitError("expected an object with a tasks mapping", path=path, field="tasks")
    for task_name, task in results["tasks"].items():
        for key in ("metric", "shots"):
            if key not in task:
                raise EvalkitError(f"task {task_name} has no field", path=path, field=f"tasks.{task_name}.{key}")
        for shots, entry in task["shots"].items():
            if not isinstance(entry, dict) or "mean" not in entry:
                raise EvalkitError(f"task {task_name}, {shots} shots: no mean", path=path,
                                   field=f"tasks.{task_name}.shots.{shots}.mean")
    return StoredRun(path.parent, results)


def benchmark_name(task_name: str, task: dict[str, Any]) -> str:
    """The name published tables give the task (recorded in results.json; older runs: the plugin's)."""
    if task.get("benchmark"):
        return str(task["benchmark"])
    from evalkit.registry import all_tasks

    plugin = all_tasks().get(task_name)
    return (plugin.published_name if plugin else "") or task_name
