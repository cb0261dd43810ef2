"""`evalkit compare RUN --reference idefics-9b`: cell by cell, our score, the published one and the
difference, with what differs in the conditions (shot selection, support size, VQA rules, --limit, an
unfinished run, demos dropped to fit the context)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from evalkit.report.cards import Entry, collect, metric_label
from evalkit.report.published import PublishedValue, matching_value, reference_values
from evalkit.report.store import StoredRun


def condition_notes(entry: Entry, published: PublishedValue, limit: int | None) -> list[str]:
    """What differs between how our number and the published one were obtained."""
    notes = []
    if entry.shot_selection != published.shot_selection:
        notes.append(f"published shots: {published.shot_selection}, ours: {entry.shot_selection}")
    if published.support_set is not None and entry.support_size != published.support_set:
        notes.append(f"support set {entry.support_size} vs published {published.support_set}")
    rules = published.vqa_rules
    if rules and entry.metric == "vqa_accuracy" and entry.metric_variant.split("+")[0] != rules:
        notes.append(f"published with the {rules} VQA rules (--metric-variant {rules}), ours {entry.metric_variant}")
    if limit:
        notes.append(f"ours on the first {limit} queries only")
    if not entry.finished:
        notes.append("ours from an unfinished run")
    if entry.dropped_shots:
        notes.append(f"ours with {entry.dropped_shots} demos dropped to fit the model's context")
    return notes


def _value(entry: Entry) -> str:
    if entry.mean is None:
        return "unscored"
    text = f"{entry.mean:.1f}" + (f" ± {entry.std:.1f}" if entry.std is not None else "")
    return text + _parts(list((entry.components or {}).values()), "{:.1f}")


def _parts(values: list[float], pattern: str) -> str:
    """A composite's other parts in brackets, as the card prints them: " (16.8/20.8)"."""
    return " (" + "/".join(pattern.format(value) for value in values) + ")" if values else ""


def _published(match: PublishedValue) -> str:
    return f"{match.value:.1f}" + _parts([value for _, value in match.components], "{:.1f}")


def _delta(entry: Entry, match: PublishedValue) -> str:
    if entry.mean is None or match.value is None:
        return ""
    ours = entry.components or {}
    parts = [ours[name] - value for name, value in match.components if name in ours]
    return f"{entry.mean - match.value:+.1f}" + _parts(parts, "{:+.1f}")


def reproduction_markdown(runs: Sequence[StoredRun], reference: str, folder: Path | None = None) -> str:
    """The comparison table, then the published cells of the reference no run covered."""
    published = reference_values(reference, folder)
    limits = {run.name: run.results.get("config", {}).get("limit") for run in runs}
    model = published[0].model
    sources = ", ".join(sorted({value.source for value in published}))
    lines = [f"## Ours vs {model} ({sources})", "",
             "| model | benchmark | metric | shots | ours | published | Δ | notes |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    used: set[PublishedValue] = set()
    for entry in collect(runs):
        match = matching_value(published, entry.benchmark, entry.metric, entry.shots, entry.shot_selection,
                               entry.support_size)
        if match is None:
            cells = ["", "", f"not in {reference}"]
        else:
            used.add(match)
            notes = condition_notes(entry, match, limits[entry.run]) + ([entry.note] if entry.note else [])
            cells = [_published(match), _delta(entry, match), "; ".join(notes)]
        lines.append(f"| {entry.label} | {entry.benchmark} | {metric_label(entry.metric)} | {entry.shots} | "
                     f"{_value(entry)} | " + " | ".join(cells) + " |")
    ours = {entry.benchmark for entry in collect(runs)}
    missing: dict[str, list[str]] = {}
    for value in published:
        if value not in used and value.value is not None and value.benchmark in ours:
            selection = f" ({value.shot_selection})" if value.shot_selection != "random" else ""
            missing.setdefault(value.benchmark, []).append(f"{value.shots}{selection}")
    if missing:
        listed = "; ".join(f"{benchmark} {', '.join(shots)}" for benchmark, shots in missing.items())
        lines += ["", f"Published shot counts of these benchmarks that no run covers: {listed}."]
    lines += ["", "Δ = ours − published, in points. Published numbers: results/published/ (see its README)."]
    return "\n".join(lines) + "\n"
