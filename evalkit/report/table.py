"""Markdown tables of results: one row per model and task, one column per shot count."""

from __future__ import annotations

from typing import Any


# A cell whose prompts had demos dropped to fit the model's context (--context-overflow drop-shots).
DROPPED_MARK = "‡"
DROPPED_LEGEND = (f"{DROPPED_MARK} demos were dropped from some prompts to fit the model's context "
                  "(--context-overflow drop-shots; counts in results.json)")


def run_marks(results: dict[str, Any], finished: bool) -> str:
    """What a row's label says about its run beyond the model: unfinished, or scored on a subset
    (--limit N or a fraction, --sample N --sample-seed S, --ids FILE)."""
    from evalkit.run.subsets import Subset

    config = results.get("config") or {}
    rule = Subset(limit=config.get("limit"), sample=config.get("sample"), sample_seed=config.get("sample_seed") or 0,
                  ids=config.get("ids")).describe()
    return (" [unfinished]" if not finished else "") + (f" [{rule}]" if rule != "all" else "")


def dropped_shots(entry: dict[str, Any]) -> int:
    """Demos dropped to fit the context, over a shot count's seeds."""
    return sum(int((aggregate.get("context_overflow") or {}).get("dropped_shots", 0))
               for aggregate in entry.get("per_seed", {}).values() if isinstance(aggregate, dict))


# What ± means in a table: seeds' spread, or one seed's bootstrap standard error (evalkit/metrics/uncertainty.py).
PLUS_MINUS_LEGEND = ("± with several seeds: std of the score over seeds; with one seed: bootstrap standard error "
                     "over queries (--bootstrap resamples; the 95% interval is in results.json)")


def seed_interval(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A single seed's bootstrap interval (results.json `interval`); None with several seeds or none made."""
    aggregates = [a for a in entry.get("per_seed", {}).values() if isinstance(a, dict)]
    if len(aggregates) != 1 or not isinstance(aggregates[0].get("interval"), dict):
        return None
    return aggregates[0]["interval"]


def _cell(entry: dict[str, Any]) -> str:
    mark = f" {DROPPED_MARK}" if dropped_shots(entry) else ""
    if entry["mean"] is None:
        return "unscored" + mark
    if entry.get("num_seeds", 1) > 1:
        return f"{entry['mean']:.2f} ± {entry['std']:.2f}{mark}"
    interval = seed_interval(entry)
    if interval:
        return f"{entry['mean']:.2f} ± {interval['se']:.2f}{mark}"
    return f"{entry['mean']:.2f}{mark}"


def results_table(results: list[dict[str, Any]]) -> str:
    """One markdown table for one or more results.json documents (side by side by model)."""
    shot_counts = sorted({int(k) for result in results for task in result["tasks"].values() for k in task["shots"]})
    header = ["model", "task", "metric"] + [f"{k}-shot" for k in shot_counts]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        model = (result.get("label") or result["model"]["model"]) + run_marks(result, result.get("finished", True))
        for task_name, task in result["tasks"].items():
            cells = [model, task_name, f"{task['metric']} ({task['metric_variant']})"]
            cells += [_cell(task["shots"][str(k)]) if str(k) in task["shots"] else "" for k in shot_counts]
            lines.append("| " + " | ".join(cells) + " |")
    legend = [PLUS_MINUS_LEGEND] if any("±" in line for line in lines[2:]) else []
    legend += [DROPPED_LEGEND] if any(DROPPED_MARK in line for line in lines[2:]) else []
    if legend:
        lines += ["", *legend]
    return "\n".join(lines) + "\n"


SKIPPED_DETAILS = {"score", "count", "predictions_file", "unscored", "by_question_type", "caveat",
                   "context_overflow", "interval"}


def _details(aggregate: dict[str, Any]) -> str:
    numbers = [f"{key} {value:.2f}" for key, value in aggregate.items()
               if key not in SKIPPED_DETAILS and isinstance(value, (int, float)) and not isinstance(value, bool)]
    groups = [f"{key}: " + ", ".join(f"{name} {value:.2f}" for name, value in value.items())
              for key, value in aggregate.items() if key not in SKIPPED_DETAILS and isinstance(value, dict) and value]
    notes = [str(aggregate["caveat"])] if aggregate.get("caveat") else []
    return "; ".join(part for part in (", ".join(numbers), *groups, *notes) if part)


def breakdown_table(result: dict[str, Any]) -> str:
    """Per task, shot count and seed: the figures besides the headline (BLEU, METEOR, answer types...)."""
    lines = []
    for task_name, task in result["tasks"].items():
        for shots, entry in task["shots"].items():
            for seed, aggregate in entry["per_seed"].items():
                details = _details(aggregate)
                if details:
                    lines.append(f"- {task_name} {shots}-shot seed {seed}: {details}")
    return "\n".join(lines) + ("\n" if lines else "")
