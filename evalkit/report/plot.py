"""`evalkit plot RUN... --out DIR`: score against shots, one panel per benchmark, one line per model
(error bars: std over seeds), published references as dashed lines; a PNG per benchmark and one
overview PNG with every panel, like the IDEFICS model card's evaluation figure. A line's label says
when its run is unfinished or limited (`[unfinished]`, `[--limit N]`), as the tables' rows do."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

from evalkit.errors import EvalkitError
from evalkit.report.cards import Entry, collect, metric_label, ordered_benchmarks
from evalkit.report.published import PublishedValue, matching_value, reference_values
from evalkit.report.store import StoredRun

OVERVIEW = "overview.png"
PANEL_SIZE = (4.0, 3.0)  # inches
DPI = 100


def file_name(benchmark: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", benchmark.lower()).strip("-") + ".png"


def _reference_points(values: Sequence[PublishedValue], entries: Sequence[Entry]) -> tuple[list[int], list[float]]:
    """A reference's published scores for the panel's benchmark, under our runs' shot selection."""
    first = entries[0]
    points = {}
    for shots in sorted({v.shots for v in values if v.benchmark == first.benchmark}):
        match = matching_value(list(values), first.benchmark, first.metric, shots, first.shot_selection,
                               first.support_size)
        if match is not None:
            points[shots] = float(match.value)
    return list(points), list(points.values())


def _draw_panel(axes, benchmark: str, entries: Sequence[Entry], references: dict[str, list[PublishedValue]]) -> None:
    for label in dict.fromkeys(e.shown for e in entries):
        mine = sorted((e for e in entries if e.shown == label and e.mean is not None), key=lambda e: e.shots)
        if mine:
            axes.errorbar([e.shots for e in mine], [e.mean for e in mine], yerr=[e.std or 0.0 for e in mine],
                          marker="o", capsize=3, label=label)
    for name, values in references.items():
        shots, scores = _reference_points(values, entries)
        if shots:
            axes.plot(shots, scores, linestyle="--", marker="x", label=f"{values[0].model} (published)")
    axes.set_title(benchmark)
    axes.set_xticks(sorted({e.shots for e in entries}))  # shot counts only: no 0.5-shot ticks
    axes.set_xlabel("shots")
    axes.set_ylabel(metric_label(entries[0].metric))
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small")


def plot_runs(runs: Sequence[StoredRun], out: Path, references: Sequence[str] = (),
              published_folder: Path | None = None) -> dict[str, Path]:
    """Writes `<benchmark>.png` per benchmark and overview.png; returns {benchmark: file, "overview": file}."""
    from matplotlib.figure import Figure

    entries = collect(runs)
    if not entries:
        raise EvalkitError("the runs hold no results to plot")
    reference_cells = {name: reference_values(name, published_folder) for name in references}
    benchmarks = ordered_benchmarks(entries)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EvalkitError(f"cannot create the folder ({error.strerror})", path=out) from None
    written = {}
    columns = min(4, len(benchmarks))
    rows = math.ceil(len(benchmarks) / columns)
    overview = Figure(figsize=(PANEL_SIZE[0] * columns, PANEL_SIZE[1] * rows), layout="constrained")
    for position, benchmark in enumerate(benchmarks):
        chosen = [e for e in entries if e.benchmark == benchmark]
        figure = Figure(figsize=PANEL_SIZE, layout="constrained")
        _draw_panel(figure.add_subplot(), benchmark, chosen, reference_cells)
        written[benchmark] = out / file_name(benchmark)
        figure.savefig(written[benchmark], dpi=DPI)
        _draw_panel(overview.add_subplot(rows, columns, position + 1), benchmark, chosen, reference_cells)
    written["overview"] = out / OVERVIEW
    overview.savefig(written["overview"], dpi=DPI)
    return written
