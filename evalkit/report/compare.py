"""`evalkit compare BASE NEW`: per task and shot count, NEW - BASE with a paired bootstrap 95% interval
from the per-sample scores in samples.jsonl; a regression is a drop beyond the metric's tolerance whose
interval lies entirely below zero. The report is markdown (for a CI comment)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.report.bootstrap import Interval, mean_statistic, paired_bootstrap, roc_auc_statistic
from evalkit.report.cards import metric_label
from evalkit.report.store import StoredRun, benchmark_name

# Points (on the 0-100 or CIDEr x100 scale) a score may drop before a significant drop is a regression.
DEFAULT_TOLERANCES = {"vqa_accuracy": 1.0, "cider": 3.0, "roc_auc": 2.0, "accuracy": 1.0}
FALLBACK_TOLERANCE = 1.0
FAIL_ON = ("regression", "change")
# Corpus metrics: a sample's score depends on the whole set scored (CIDEr's idf), so runs that scored
# different sample sets cannot be paired.
CORPUS_METRICS = {"cider"}
# Statuses that fail the comparison whatever --fail-on says.
ALWAYS_FAILING = {"regression", "missing in NEW", "not comparable"}


def parse_tolerances(values: list[str]) -> dict[str, float]:
    """`METRIC=POINTS` items (e.g. cider=5); `*=POINTS` sets every metric without its own."""
    tolerances = dict(DEFAULT_TOLERANCES)
    for value in values:
        metric, sep, points = value.partition("=")
        try:
            number = float(points)
        except ValueError:
            number = -1.0
        if not sep or not metric or number < 0:
            raise EvalkitError(f"expected METRIC=POINTS with POINTS >= 0, got {value!r}", field="--tolerance")
        known = known_metrics()
        if metric.strip() not in known:
            raise EvalkitError(f"unknown metric {metric.strip()!r} in {value!r} (known: {', '.join(sorted(known))})",
                               field="--tolerance")
        tolerances[metric.strip()] = number
    return tolerances


def known_metrics() -> set[str]:
    """The metric names results carry (every task's metric and variants), and `*` for all."""
    from evalkit.registry import all_tasks

    names = {"*", *DEFAULT_TOLERANCES}
    for task in all_tasks().values():
        names |= {task.metric.name, *(task.metric_for(variant).name for variant in task.metric_variants)}
    return names


def tolerance_for(metric: str, tolerances: dict[str, float]) -> float:
    return tolerances.get(metric, tolerances.get("*", FALLBACK_TOLERANCE))


@dataclass
class CellComparison:
    task: str
    benchmark: str
    metric: str
    shots: int
    base_mean: float | None = None
    new_mean: float | None = None
    interval: Interval | None = None
    samples: int = 0
    tolerance: float = 0.0
    status: str = ""
    notes: list[str] = field(default_factory=list)
    ids_differ: bool = False


@dataclass
class Comparison:
    base: StoredRun
    new: StoredRun
    cells: list[CellComparison]
    fail_on: str
    resamples: int
    seed: int
    tolerances: dict[str, float]

    def failures(self) -> list[CellComparison]:
        failing = set(ALWAYS_FAILING) | ({"improvement"} if self.fail_on == "change" else set())
        return [c for c in self.cells if c.status in failing or (self.fail_on == "change" and c.ids_differ)]

    @property
    def passed(self) -> bool:
        return not self.failures()


SampleTable = dict[tuple[str, int], dict[int, dict[Any, dict[str, Any]]]]  # (task, shots) -> seed -> id -> record


def _sample_table(run: StoredRun, wanted: set[tuple[str, int]]) -> SampleTable:
    table: SampleTable = defaultdict(lambda: defaultdict(dict))
    for record in run.samples():
        key = (record["task"], int(record["shots"]))
        if key in wanted:
            table[key][int(record["seed"])][_id_key(record["id"])] = record
    return table


def _id_key(value: Any) -> Any:
    return value if isinstance(value, (int, str)) else repr(value)


def _scored_ids(by_seed: dict[int, dict[Any, dict]]) -> set:
    """Ids scored in every seed of a run."""
    sets = [{i for i, r in records.items() if r["score"] is not None} for records in by_seed.values()]
    return set.intersection(*sets) if sets else set()


def _positive_class(task: dict[str, Any]) -> str | None:
    for entry in task["shots"].values():
        for aggregate in entry.get("per_seed", {}).values():
            if isinstance(aggregate, dict) and aggregate.get("positive_class"):
                return str(aggregate["positive_class"])
    return None


def _status(interval: Interval, tolerance: float, identical: bool) -> str:
    if identical:
        return "unchanged"
    if not interval.excludes_zero():
        return "within noise"
    if interval.delta < -tolerance:
        return "regression"
    if interval.delta > tolerance:
        return "improvement"
    return "within tolerance"


def subset_rule(run: StoredRun, task: str) -> str:
    """The queries a run scored of a task, in words: "the whole split", "the first 50", "--sample 100 ..."."""
    recorded = (run.tasks.get(task) or {}).get("subset") or {}
    if "rule" in recorded:
        rule = recorded["rule"]
    else:  # a run from before subsets were recorded: only --limit existed
        limit = (run.results.get("config") or {}).get("limit")
        rule = f"--limit {limit}" if limit else "all"
    if rule == "all":
        return "the whole split"
    return f"the first {rule.split()[1]}" if rule.startswith("--limit ") and " " not in rule[8:] else rule


def _compare_cell(cell: CellComparison, base: StoredRun, new: StoredRun, base_samples: SampleTable,
                  new_samples: SampleTable, resamples: int, seed: int) -> None:
    key = (cell.task, cell.shots)
    base_ids, new_ids = _scored_ids(base_samples.get(key, {})), _scored_ids(new_samples.get(key, {}))
    shared = sorted(base_ids & new_ids, key=lambda i: (isinstance(i, str), i))
    if base_ids != new_ids:
        cell.ids_differ = True
        cell.notes.append(f"{len(base_ids - new_ids)} samples only in BASE, {len(new_ids - base_ids)} only in NEW")
        rules = subset_rule(base, cell.task), subset_rule(new, cell.task)
        if rules[0] != rules[1]:
            cell.notes.append(f"base scored {rules[0]}, new {rules[1]}")
    if not shared or (cell.ids_differ and cell.metric in CORPUS_METRICS):
        cell.status = "not comparable"
        cell.notes.append("no scored sample in both runs' samples.jsonl" if not shared else
                          f"{metric_label(cell.metric)} per sample depends on the whole set scored")
        return
    matrices = [np.array([[records[i]["score"] for i in shared] for _, records in sorted(samples[key].items())])
                for samples in (base_samples, new_samples)]
    statistic, labels = mean_statistic, None
    if cell.metric == "roc_auc":
        positive = _positive_class(base.tasks[cell.task])
        records = next(iter(base_samples[key].values()))
        if positive is None or any("reference" not in records[i] for i in shared):
            cell.status = "not comparable"
            cell.notes.append("samples.jsonl has no gold class (re-run with this evalkit) for ROC-AUC")
            return
        statistic, labels = roc_auc_statistic, np.array([records[i]["reference"] == positive for i in shared])
    cell.samples = len(shared)
    cell.interval = paired_bootstrap(matrices[0], matrices[1], statistic, labels, resamples, seed=seed)
    identical = matrices[0].shape == matrices[1].shape and np.array_equal(matrices[0], matrices[1])
    cell.status = _status(cell.interval, cell.tolerance, identical)


def _cell(task_name: str, task: dict[str, Any], shots: str, tolerances: dict[str, float]) -> CellComparison:
    return CellComparison(task=task_name, benchmark=benchmark_name(task_name, task), metric=task["metric"],
                          shots=int(shots), tolerance=tolerance_for(task["metric"], tolerances))


def compare_runs(base: StoredRun, new: StoredRun, tolerances: dict[str, float] | None = None,
                 resamples: int = 2000, seed: int = 0, fail_on: str = "regression") -> Comparison:
    """Every (task, shots) of either run, compared on the samples both scored."""
    if fail_on not in FAIL_ON:
        raise EvalkitError(f"must be one of {', '.join(FAIL_ON)}", field="--fail-on")
    if resamples < 100:
        raise EvalkitError("use at least 100 resamples", field="--resamples")
    tolerances = tolerances if tolerances is not None else dict(DEFAULT_TOLERANCES)
    cells, paired = [], []
    for task_name, task in base.tasks.items():
        for shots, entry in task["shots"].items():
            cell = _cell(task_name, task, shots, tolerances)
            cell.base_mean = entry["mean"]
            cells.append(cell)
            other = new.tasks.get(task_name, {}).get("shots", {}).get(shots)
            if other is None:
                cell.status = "missing in NEW"
                continue
            cell.new_mean = other["mean"]
            new_task = new.tasks[task_name]
            if (new_task["metric"], new_task.get("metric_variant")) != (task["metric"], task.get("metric_variant")):
                cell.status = "not comparable"
                cell.notes.append(f"metric {task['metric']} ({task.get('metric_variant')}) vs "
                                  f"{new_task['metric']} ({new_task.get('metric_variant')})")
            elif entry["mean"] is None or other["mean"] is None:
                cell.status = "not comparable"
                cell.notes.append("unscored split")
            else:
                paired.append(cell)
    for task_name, task in new.tasks.items():
        for shots, entry in task["shots"].items():
            if shots not in base.tasks.get(task_name, {}).get("shots", {}):
                cell = _cell(task_name, task, shots, tolerances)
                cell.new_mean, cell.status = entry["mean"], "only in NEW"
                cells.append(cell)
    wanted = {(c.task, c.shots) for c in paired}
    base_samples, new_samples = _sample_table(base, wanted), _sample_table(new, wanted)
    for cell in paired:
        _compare_cell(cell, base, new, base_samples, new_samples, resamples, seed)
    return Comparison(base, new, cells, fail_on, resamples, seed, tolerances)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _run_line(role: str, run: StoredRun) -> str:
    environment = run.results.get("environment", {})
    commit = (environment.get("git_commit") or "unknown")[:12]
    finished = "" if run.finished else " (unfinished run)"
    return f"- {role}: `{run.folder}`, model {run.model_label()}, evalkit commit {commit}{finished}"


def comparison_markdown(comparison: Comparison) -> str:
    """The report: verdict, the two runs, one row per task and shot count, then how Δ and its CI are made."""
    failures = comparison.failures()
    verdict = "PASS" if not failures else f"FAIL ({len(failures)} of {len(comparison.cells)} cells)"
    moved = [c for c in comparison.cells if c.interval is not None and abs(c.interval.delta) > 1e-9]
    lines = [f"## evalkit compare: {verdict}", "", _run_line("BASE", comparison.base),
             _run_line("NEW", comparison.new), "",
             f"{len(moved)} of {len(comparison.cells)} cells moved; failing on: {comparison.fail_on}.", "",
             "| task | metric | shots | BASE | NEW | Δ | 95% CI | samples | tolerance | status |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---|"]
    for c in comparison.cells:
        interval = c.interval
        ci = f"[{interval.low:+.2f}, {interval.high:+.2f}]" if interval and interval.resamples else ""
        status = f"**{c.status}**" if c in failures else c.status
        if c.notes:
            status += " (" + "; ".join(c.notes) + ")"
        lines.append(f"| {c.task} | {metric_label(c.metric)} | {c.shots} | {_number(c.base_mean)} | "
                     f"{_number(c.new_mean)} | {'' if interval is None else f'{interval.delta:+.2f}'} | {ci} | "
                     f"{c.samples or ''} | {c.tolerance:g} | {status} |")
    lines += ["", *_method_notes(comparison)]
    return "\n".join(lines) + "\n"


def _method_notes(comparison: Comparison) -> list[str]:
    metrics = {c.metric for c in comparison.cells}
    used = ", ".join(f"{metric_label(m)} {tolerance_for(m, comparison.tolerances):g}" for m in sorted(metrics))
    notes = [
        f"Δ = NEW − BASE on the samples both runs scored, paired by sample id (each run's seeds averaged); "
        f"95% CI: percentile bootstrap over {comparison.resamples} resamples of the sample ids (seed "
        f"{comparison.seed}). BASE and NEW columns are the runs' own means.",
        f"A regression is a drop larger than the metric's tolerance whose interval lies entirely below 0 "
        f"(tolerances in points: {used}); a cell missing in NEW or not comparable fails too.",
    ]
    if "cider" in metrics:
        notes.append("CIDEr is a corpus metric: Δ uses the per-image CIDEr in samples.jsonl, computed with the "
                     "idf of the whole query set (their mean is the corpus CIDEr); resampling keeps that idf "
                     "fixed, so the interval leaves out how the idf itself would vary.")
    if "roc_auc" in metrics:
        notes.append("ROC-AUC is recomputed on each resample from the per-sample P(yes) and the gold class.")
    return ["- " + note for note in notes]
