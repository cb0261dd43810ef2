"""Model-card tables from run folders: rows model x shots, columns the benchmarks with their metric
(mean ± std over seeds); the ImageNet table (support size, shot selection, top-1) and the FairFace
table (accuracy with the std over race x gender buckets). Markdown, LaTeX and CSV (one row per cell).

Which table a task goes to follows from what its results hold, never from its name: aggregates with a
`bucket_std` go to the bucket table, tasks drawing their support per class to the support table.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from evalkit.report.published import benchmark_order
from evalkit.report.store import StoredRun, benchmark_name
from evalkit.report.table import DROPPED_LEGEND, DROPPED_MARK, PLUS_MINUS_LEGEND, dropped_shots, run_marks, \
    seed_interval

METRIC_LABELS = {"vqa_accuracy": "VQA acc", "cider": "CIDEr", "roc_auc": "ROC-AUC", "accuracy": "acc",
                 "ndcg": "NDCG", "group_text_image": "group (text/image)"}
FORMATS = ("markdown", "csv", "latex")
DIGITS = 1  # as the model card prints them


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


@dataclass(frozen=True)
class Entry:
    """One (row label, task, shot count) result, as the tables need it."""

    label: str
    run: str
    task: str
    benchmark: str
    metric: str
    metric_variant: str
    shots: int
    mean: float | None
    std: float | None  # over seeds; None with a single seed
    num_seeds: int
    bucket_std: float | None
    support_size: int | None
    shot_selection: str
    num_queries: int | None
    kind: str  # "card", "support" or "buckets"
    dropped_shots: int = 0  # demos dropped to fit the model's context, over the seeds
    finished: bool = True  # the run's results.json says "finished": true
    marks: str = ""  # what the run's label adds: " [unfinished]", " [--limit N]"
    # Parts of a composite score beside the headline (Winoground: text, image), means over seeds.
    components: dict[str, float] | None = None
    # What the metric says to read beside published numbers (VisDial's NDCG rules, Winoground's labels).
    note: str = ""
    # One seed's bootstrap standard error and 95% interval over queries; None with several seeds or none made.
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def shown(self) -> str:
        """The row label tables and plots show: a partial run never passes for a whole one."""
        return self.label + self.marks


def _kind(task: dict[str, Any]) -> str:
    aggregates = [a for entry in task["shots"].values() for a in entry.get("per_seed", {}).values()]
    if any(isinstance(a, dict) and "bucket_std" in a for a in aggregates):
        return "buckets"
    return "support" if task.get("support_per_class") else "card"


def _bucket_std(entry: dict[str, Any]) -> float | None:
    values = [a["bucket_std"] for a in entry.get("per_seed", {}).values()
              if isinstance(a, dict) and isinstance(a.get("bucket_std"), (int, float))]
    return statistics.fmean(values) if values else None


def _components(entry: dict[str, Any]) -> dict[str, float] | None:
    """Each composite part's mean over the seeds that report it."""
    seeds = [a["components"] for a in entry.get("per_seed", {}).values()
             if isinstance(a, dict) and isinstance(a.get("components"), dict)]
    if not seeds:
        return None
    return {part: statistics.fmean(seed[part] for seed in seeds) for part in seeds[0]}


def _note(entry: dict[str, Any]) -> str:
    notes = [a.get("published_note") for a in entry.get("per_seed", {}).values() if isinstance(a, dict)]
    return next((str(note) for note in notes if note), "")


def collect(runs: Sequence[StoredRun]) -> list[Entry]:
    """Every (task, shots) cell of the runs. Runs of one model merge into its rows; a run repeating a
    cell already filled (another seed, another setting) gets rows of its own, labelled with its folder."""
    filled: set[tuple[str, str, str]] = set()
    entries = []
    for run in runs:
        label = run.model_label()
        keys = {(label, task, shots) for task, result in run.tasks.items() for shots in result["shots"]}
        if keys & filled:
            label = f"{label} ({run.name})"
            keys = {(label, task, shots) for _, task, shots in keys}
        filled |= keys
        for task_name, task in run.tasks.items():
            for shots, entry in task["shots"].items():
                num_seeds = int(entry.get("num_seeds", 1))
                interval = seed_interval(entry) or {}
                entries.append(Entry(
                    label=label, run=run.name, task=task_name, benchmark=benchmark_name(task_name, task),
                    metric=task["metric"], metric_variant=str(task.get("metric_variant", "")), shots=int(shots),
                    mean=entry["mean"], std=entry.get("std") if num_seeds > 1 else None, num_seeds=num_seeds,
                    bucket_std=_bucket_std(entry), support_size=task.get("support_size"),
                    shot_selection=str(task.get("shot_selection") or "random"),
                    num_queries=task.get("num_queries"), kind=_kind(task), dropped_shots=dropped_shots(entry),
                    finished=run.finished, marks=run_marks(run.results, run.finished),
                    components=_components(entry), note=_note(entry),
                    se=interval.get("se"), ci_low=interval.get("low"), ci_high=interval.get("high"),
                ))
    return entries


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]  # str, or Entry for a score cell, or None for an empty one


KINDS = ("card", "support", "buckets")


def ordered_benchmarks(entries: Sequence[Entry]) -> list[str]:
    """Model-card benchmarks, then support and bucket ones; within each, the published tables' order,
    then benchmarks they do not have, as run."""
    kinds = {e.benchmark: KINDS.index(e.kind) for e in entries}
    published = benchmark_order()
    present = list(dict.fromkeys(e.benchmark for e in entries))
    return sorted(present, key=lambda b: (kinds[b], published.index(b) if b in published else len(published),
                                          present.index(b)))


def _grid(title: str, entries: Sequence[Entry], prefix: Sequence[str] = ()) -> Table:
    """Rows (label, shots), one column per benchmark."""
    benchmarks = ordered_benchmarks(entries)
    headers = {e.benchmark: f"{e.benchmark} ({metric_label(e.metric)})" for e in entries}
    cells = {(e.shown, e.shots, e.benchmark): e for e in entries}
    rows = []
    for label in dict.fromkeys(e.shown for e in entries):
        for shots in sorted({e.shots for e in entries if e.shown == label}):
            rows.append([label, str(shots)] + [cells.get((label, shots, b)) for b in benchmarks])
    return Table(title, ["model", "shots", *prefix] + [headers[b] for b in benchmarks], rows)


def card_tables(runs: Sequence[StoredRun], which: Sequence[str] = KINDS) -> list[Table]:
    """The model card table, then one support table per benchmark of that kind, then the bucket table."""
    entries = collect(runs)
    tables = []
    card = [e for e in entries if e.kind == "card"]
    if "card" in which and card:
        tables.append(_grid("Model card", card))
    if "support" in which:
        for benchmark in ordered_benchmarks([e for e in entries if e.kind == "support"]):
            chosen = [e for e in entries if e.kind == "support" and e.benchmark == benchmark]
            labels = list(dict.fromkeys(e.shown for e in chosen))
            rows = [[e.shown, str(e.shots), str(e.support_size or ""), e.shot_selection, e]
                    for e in sorted(chosen, key=lambda e: (labels.index(e.shown), e.shots))]
            score = f"{metric_label(chosen[0].metric)} ({chosen[0].metric_variant})"
            tables.append(Table(benchmark, ["model", "shots", "support size", "selection", score], rows))
    buckets = [e for e in entries if e.kind == "buckets"]
    if "buckets" in which and buckets:
        tables.append(_grid("Accuracy (std over race x gender buckets)", buckets))
    return tables


def format_score(entry: Entry | None, digits: int = DIGITS, plus_minus: str = "±") -> str:
    if entry is None:
        return ""
    if entry.mean is None:
        return "unscored"
    text = f"{entry.mean:.{digits}f}"
    if entry.std is not None:
        text += f" {plus_minus} {entry.std:.{digits}f}"
    elif entry.se is not None:
        text += f" {plus_minus} {entry.se:.{digits}f}"
    if entry.bucket_std is not None:
        text += f" ({entry.bucket_std:.{digits}f})"
    if entry.components:
        text += " (" + "/".join(f"{value:.{digits}f}" for value in entry.components.values()) + ")"
    return text + (f" {DROPPED_MARK}" if entry.dropped_shots else "")


def _legend(tables: Sequence[Table]) -> list[str]:
    dropped = any(isinstance(cell, Entry) and cell.dropped_shots for table in tables for row in table.rows
                  for cell in row)
    spread = any(isinstance(cell, Entry) and cell.mean is not None and (cell.std is not None or cell.se is not None)
                 for table in tables for row in table.rows for cell in row)
    return ([PLUS_MINUS_LEGEND] if spread else []) + ([DROPPED_LEGEND] if dropped else [])


def to_markdown(tables: Sequence[Table]) -> str:
    parts = []
    for table in tables:
        lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.columns))) + "|"]
        lines += ["| " + " | ".join(c if isinstance(c, str) else format_score(c) for c in row) + " |"
                  for row in table.rows]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts + [line + "\n" for line in _legend(tables)])


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(char, char) for char in text)


def to_latex(tables: Sequence[Table]) -> str:
    """booktabs tabulars, one per table, each after a comment naming it."""
    parts = []
    for table in tables:
        lines = [f"% {table.title}", r"\begin{tabular}{l" + "r" * (len(table.columns) - 1) + "}", r"\toprule",
                 " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
        for row in table.rows:
            cells = [latex_escape(c) if isinstance(c, str) else format_score(c, plus_minus=r"$\pm$") for c in row]
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts + [f"% {line}\n" for line in _legend(tables)])


CSV_COLUMNS = ("model", "run", "benchmark", "task", "metric", "metric_variant", "shots", "mean", "std",
               "num_seeds", "se", "ci_low", "ci_high", "bucket_std", "support_size", "shot_selection", "num_queries", "dropped_shots")


def to_csv(runs: Sequence[StoredRun]) -> str:
    """One row per (model, task, shots): every table's cells in one tidy file, full precision."""
    records = [{**entry.__dict__, "model": entry.shown} for entry in collect(runs)]
    # object columns: whole numbers stay whole (1000, not 1000.0) beside missing ones, written empty.
    frame = pd.DataFrame(records, columns=list(CSV_COLUMNS), dtype=object)
    return frame.to_csv(index=False, lineterminator="\n")


def render_tables(runs: Sequence[StoredRun], fmt: str = "markdown", which: Sequence[str] = KINDS) -> str:
    if fmt == "csv":
        return to_csv(runs)
    tables = card_tables(runs, which)
    return to_latex(tables) if fmt == "latex" else to_markdown(tables)
