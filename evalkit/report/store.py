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
This module reads them; evalkit/run/ writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from evalkit.errors import EvalkitError

RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
EXAMPLES_FILE = "examples.jsonl"  # written by evalkit/example_log.py


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
            if (self.results.get("config") or {}).get("log_samples") == "none":
                raise EvalkitError("not written: the run was made with --log-samples none, and per-sample scores "
                                   "are needed here", path=path)
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
