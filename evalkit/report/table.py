"""Markdown tables of results: one row per model and task, one column per shot count."""

from __future__ import annotations

from typing import Any


def _cell(entry: dict[str, Any]) -> str:
    if entry["mean"] is None:
        return "unscored"
    if entry.get("num_seeds", 1) > 1:
        return f"{entry['mean']:.2f} ± {entry['std']:.2f}"
    return f"{entry['mean']:.2f}"


def results_table(results: list[dict[str, Any]]) -> str:
    """One markdown table for one or more results.json documents (side by side by model)."""
    shot_counts = sorted({int(k) for result in results for task in result["tasks"].values() for k in task["shots"]})
    header = ["model", "task", "metric"] + [f"{k}-shot" for k in shot_counts]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        model = result.get("label") or result["model"]["model"]
        for task_name, task in result["tasks"].items():
            cells = [model, task_name, f"{task['metric']} ({task['metric_variant']})"]
            cells += [_cell(task["shots"][str(k)]) if str(k) in task["shots"] else "" for k in shot_counts]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


SKIPPED_DETAILS = {"score", "count", "predictions_file", "unscored", "by_question_type", "caveat"}


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
