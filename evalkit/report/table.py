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


def breakdown_table(result: dict[str, Any], key: str = "by_answer_type") -> str:
    """Per task and shot count, the first seed's breakdown (e.g. VQA answer types)."""
    lines = []
    for task_name, task in result["tasks"].items():
        for shots, entry in task["shots"].items():
            for seed, aggregate in entry["per_seed"].items():
                groups = aggregate.get(key)
                if not groups:
                    continue
                parts = ", ".join(f"{name or '?'} {value:.2f}" for name, value in groups.items())
                lines.append(f"- {task_name} {shots}-shot seed {seed}: {parts}")
    return "\n".join(lines) + ("\n" if lines else "")
