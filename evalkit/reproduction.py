"""`evalkit reproduce NAME`: every published cell of a reference model (e.g. idefics-9b) planned, run
with the card's protocol in one run folder, and reported in the card's shape.

The cells come from results/published/: each benchmark's published shot counts, shot selection and
support set. `CARD_PROTOCOL` (this command's own table) says how the card ran a benchmark where that
differs from evalkit's defaults. Cells sharing their settings form one run, kept in
`<output>/runs/<name>/` (resumable: rerun the same command to continue); the card, the comparison
with the published numbers and the plots are written beside them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from evalkit.registry import all_tasks
from evalkit.report.published import PublishedValue, reference_values
from evalkit.run.config import RunConfig
from evalkit.taskspec import TaskSpec


@dataclass(frozen=True)
class Protocol:
    """How the card ran a benchmark, where it differs from evalkit's defaults."""

    metric_variant: str | None = None
    support_per_class: int | None = None


# (published benchmark, published support set) -> protocol; None matches any support set.
CARD_PROTOCOL: dict[tuple[str, int | None], Protocol] = {
    # m4's whole-list NDCG, A-to-E letters and whole-sequence caption scores (model-card-extra.md).
    ("VisDial", None): Protocol(metric_variant="m4"),
    ("ScienceQA", None): Protocol(metric_variant="m4"),
    ("Winoground", None): Protocol(metric_variant="m4"),
    # ImageNet's "1K" and "5K" supports: 1 and 5 images per class.
    ("ImageNet-1k", 1000): Protocol(support_per_class=1),
    ("ImageNet-1k", 5000): Protocol(support_per_class=5),
}


@dataclass(frozen=True)
class CardRun:
    """Cells one run takes: every task at every shot count, with the same settings."""

    tasks: tuple[str, ...]
    shots: tuple[int, ...]
    shot_selection: str
    support_per_class: int | None
    metric_variant: str | None

    @property
    def name(self) -> str:
        parts = ["shots" + "-".join(map(str, self.shots))]
        if self.metric_variant:
            parts.append(self.metric_variant)
        if self.shot_selection != "random" or self.support_per_class:
            parts.append(self.shot_selection + (f"-{self.support_per_class}-per-class" if self.support_per_class else ""))
        return "_".join(parts)


def card_runs(reference: str, published: Path | None = None) -> tuple[list[CardRun], list[PublishedValue]]:
    """The runs that cover every published cell of `reference`, and the cells no task covers."""
    tasks_by_benchmark = {task.published_name or name: name for name, task in all_tasks().items()}
    shots: dict[tuple, set[int]] = defaultdict(set)
    uncovered = []
    for value in reference_values(reference, published):
        task = tasks_by_benchmark.get(value.benchmark)
        if task is None or value.value is None:
            uncovered.append(value)
            continue
        protocol = CARD_PROTOCOL.get((value.benchmark, value.support_set)) or \
            CARD_PROTOCOL.get((value.benchmark, None)) or Protocol()
        shots[(task, value.shot_selection, protocol.support_per_class, protocol.metric_variant)].add(value.shots)
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for (task, selection, per_class, variant), counts in shots.items():
        grouped[(tuple(sorted(counts)), selection, per_class, variant)].append(task)
    runs = [CardRun(tuple(tasks), counts, selection, per_class, variant)
            for (counts, selection, per_class, variant), tasks in grouped.items()]
    return sorted(runs, key=lambda run: (-len(run.tasks), run.name)), uncovered


def run_configs(runs: Sequence[CardRun], base: RunConfig) -> list[tuple[CardRun, RunConfig]]:
    """Each card run's config: `base` (model, data, seeds, batch...) with the run's cells and settings,
    in `<base.output>/runs/<run name>/`."""
    return [(run, replace(base, tasks=list(run.tasks), shots=list(run.shots), shot_selection=run.shot_selection,
                          support_per_class=run.support_per_class, metric_variant=run.metric_variant,
                          output=Path(base.output) / "runs" / run.name)) for run in runs]


def dry_run(reference: str, base: RunConfig, published: Path | None, throughput: float | None,
            measure_batches: int | None) -> str:
    """The plan of every cell (see evalkit/plan.py) as markdown."""
    from evalkit.plan import Planner, TokenCounter, plan_markdown
    from evalkit.registry import get_task

    runs, uncovered = card_runs(reference, published)
    counter = TokenCounter(base.model, base.revision)
    planner = Planner(counter, base.batch_size)
    configs = run_configs(runs, base)
    for run, config in configs:
        config.validate()
        planner.plan(run.name, config, [get_task(name) for name in run.tasks])
    throughputs = {"generate": throughput, "rank": throughput} if throughput else {}
    if measure_batches and not throughput:
        throughputs = _measured(configs, planner, counter, measure_batches)
    text = f"## Plan: {reference} ({len(planner.rows)} cells in {len(runs)} runs)\n\n"
    text += plan_markdown(planner.rows, throughputs, counter.exact)
    return text + _uncovered(uncovered)


def _measured(configs: list[tuple[CardRun, RunConfig]], planner: Any, counter: Any, batches: int) -> dict[str, float]:
    """Tokens per second of the first task of each mode that has its data, on its first batches."""
    from evalkit.models.select import load_configured
    from evalkit.plan import measure_throughput
    from evalkit.registry import get_task

    measured_cells = {(row.group, row.task) for row in planner.rows if not row.estimated}
    adapter, rates = None, {}
    for run, config in configs:
        for name in run.tasks:
            task = get_task(name)
            if task.mode in rates or (run.name, name) not in measured_cells:
                continue
            adapter = adapter or load_configured(config, config.device)
            rates[task.mode] = measure_throughput(adapter, config, task, batches, counter)
    return rates


def _uncovered(values: Sequence[PublishedValue]) -> str:
    if not values:
        return ""
    listed = ", ".join(f"{v.benchmark} {v.shots}" for v in values)
    return f"\nPublished cells no task covers (left out): {listed}.\n"


def reproduce(reference: str, base: RunConfig, published: Path | None = None, adapter: Any = None,
              task_specs: dict[str, TaskSpec] | None = None, label: str | None = None) -> str:
    """Run every card cell (resuming what the output folder already holds) and write `card.md`,
    `report.md` (card, comparison, plots) and `plots/` into `base.output`; returns the report."""
    from evalkit.models.select import load_configured
    from evalkit.run.distributed import Processes
    from evalkit.report.cards import render_tables
    from evalkit.report.plot import plot_runs
    from evalkit.report.reproduce import reproduction_markdown
    from evalkit.files import write_atomic
    from evalkit.report.store import load_run
    from evalkit.run.runner import Run

    runs, uncovered = card_runs(reference, published)
    configs = run_configs(runs, base)
    for _, config in configs:
        config.validate()
    processes = Processes.from_environment()
    try:  # every run's data is read and checked before the model loads
        card = [Run(config, {n: s for n, s in (task_specs or {}).items() if n in config.tasks}, processes)
                for _, config in configs]
        adapter = adapter or load_configured(base, processes.device(base.device))
        for run in card:
            run.execute(adapter, label)
    finally:
        processes.close()
    if not processes.is_main:
        return ""
    stored = [load_run(config.output) for _, config in configs]
    output = Path(base.output)
    tables = render_tables(stored)
    write_atomic(output / "card.md", tables)
    plots = plot_runs(stored, output / "plots", [reference], published)
    report = (f"# {reference}: reproduction\n\n{tables}\n{reproduction_markdown(stored, reference, published)}"
              + _uncovered(uncovered) + "\nPlots: " + ", ".join(f"plots/{path.name}" for path in plots.values()) + "\n")
    write_atomic(output / "report.md", report)
    return report
