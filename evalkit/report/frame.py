"""Results as a pandas DataFrame: one row per model, task, metric and shot count."""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalkit.report.table import seed_interval

FRAME_COLUMNS = ("model", "task", "metric", "metric_variant", "shots", "mean", "std", "seeds", "se", "ci_low",
                 "ci_high")


def results_frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    """results.json documents as rows (model, task, metric, metric_variant, shots, mean, std over seeds,
    seeds, and a single seed's bootstrap se, ci_low, ci_high: missing with several seeds or --bootstrap 0)."""
    rows = []
    for result in results:
        model = result.get("label") or result["model"]["model"]
        for task_name, task in result["tasks"].items():
            for shots, entry in task["shots"].items():
                interval = seed_interval(entry) or {}
                seeds = int(entry.get("num_seeds", 1))
                rows.append({"model": model, "task": task_name, "metric": task["metric"],
                             "metric_variant": task.get("metric_variant"), "shots": int(shots),
                             "mean": entry["mean"], "std": entry.get("std") if seeds > 1 else None, "seeds": seeds,
                             "se": interval.get("se"), "ci_low": interval.get("low"),
                             "ci_high": interval.get("high")})
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    for column in ("mean", "std", "se", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame
