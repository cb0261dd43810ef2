"""Hand-made run folders (results.json + samples.jsonl) for the report tests."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def task_result(metric: str, variant: str, seed_scores: dict[int, list[float]], benchmark: str | None = None,
                per_seed_extra: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A results.json task entry: per shot count, one score per seed (seeds 42, 43, ...)."""
    shots = {}
    for k, scores in seed_scores.items():
        per_seed = {str(42 + i): {"score": s, "count": 10, **(per_seed_extra or {})} for i, s in enumerate(scores)}
        shots[str(k)] = {"mean": statistics.fmean(scores),
                         "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                         "num_seeds": len(scores), "per_seed": per_seed}
    entry = {"metric": metric, "metric_variant": variant, "shot_selection": "random", "support_per_class": None,
             "num_queries": 10, "shots": shots, **fields}
    if benchmark:
        entry["benchmark"] = benchmark
    return entry


def write_run(folder: Path, label: str, tasks: dict[str, dict], samples: list[dict] | None = None,
              limit: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    results = {"label": label, "model": {"model": f"org/{label.replace(' ', '-')}"}, "config": {"limit": limit},
               "environment": {"git_commit": "0123456789abcdef"}, "tasks": tasks, "finished": True}
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    lines = "".join(json.dumps(record) + "\n" for record in samples or [])
    (folder / "samples.jsonl").write_text(lines, encoding="utf-8")
    return folder


def sample_records(task: str, shots: int, scores: list[float], seed: int = 42,
                   references: list[str] | None = None) -> list[dict]:
    records = [{"task": task, "shots": shots, "seed": seed, "id": index, "score": score}
               for index, score in enumerate(scores)]
    for record, reference in zip(records, references or []):
        record["reference"] = reference
    return records


def scored_run(folder: Path, label: str, task: str, metric: str, per_shot: dict[int, list[float]],
               benchmark: str, references: list[str] | None = None, **per_seed_extra: Any) -> Path:
    """One task, one seed: the results' means are the samples' means (what a real run writes)."""
    samples = [r for k, scores in per_shot.items() for r in sample_records(task, k, scores, references=references)]
    result = task_result(metric, "v", {k: [statistics.fmean(s)] for k, s in per_shot.items()}, benchmark,
                         per_seed_extra)
    return write_run(folder, label, {task: result}, samples)
