"""Published reference numbers (results/published/*.csv): the IDEFICS model card and the OpenFlamingo
report, read into one list of cells, each with its model, benchmark, metric, shots and conditions."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError

# The repository's results/published/ (a fresh clone or an editable install).
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "results" / "published"
REQUIRED_COLUMNS = ("model", "shots", "benchmark", "metric", "value")
# VQA rules behind a file's numbers, where the source says which (evalkit's --metric-variant names).
VQA_RULES = {"openflamingo_report.csv": "openflamingo"}
# Our metric names -> the metric names published tables use for the same quantity.
PUBLISHED_METRICS = {
    "vqa_accuracy": ("vqa_acc",),
    "cider": ("cider",),
    "roc_auc": ("roc_auc",),
    "accuracy": ("acc", "top1_acc"),
}


@dataclass(frozen=True)
class PublishedValue:
    """One published cell. A composite cell (Winoground's "8.0 (18.75/22.5)" under the metric
    group_text_image) gives its first part as `value` and the others as `components`; `value` is None
    for text that is no number."""

    reference: str
    model: str
    benchmark: str
    metric: str
    shots: int
    value: float | None
    text: str
    shot_selection: str = "random"
    support_set: int | None = None
    source: str = ""
    components: tuple[tuple[str, float], ...] = ()

    @property
    def vqa_rules(self) -> str | None:
        return VQA_RULES.get(self.source)


def reference_name(model: str) -> str:
    """'IDEFICS 9B Instruct' -> 'idefics-9b-instruct'; 'OpenFlamingo-9B' -> 'openflamingo-9b'."""
    return re.sub(r"[\s_]+", "-", model.strip().lower())


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def composite(text: str, metric: str) -> tuple[float, tuple[tuple[str, float], ...]] | None:
    """A composite cell read by its metric's parts: group_text_image with "5.0 (16.8/20.8)" (the base
    models' cells: group, then text/image in brackets) or "9.2/20.0/25.0 (1.2/1.2/2.5)" (the instruct
    ones': every part first, differences to the base model in brackets) -> (5.0, (("text", 16.8),
    ("image", 20.8))). None when the text does not have that shape."""
    parts = metric.split("_")
    head, _, bracket = text.partition("(")
    try:
        first = [float(number) for number in head.strip().split("/")]
        inside = [float(number) for number in bracket.rstrip(") ").split("/")] if bracket else []
    except ValueError:
        return None
    numbers = first if len(first) == len(parts) else first + inside if len(first) == 1 else []
    if len(parts) < 2 or len(numbers) != len(parts):
        return None
    return numbers[0], tuple(zip(parts[1:], numbers[1:]))


def _read_file(path: Path) -> list[PublishedValue]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise EvalkitError("missing column", path=path, field=missing[0])
        values = []
        for line, row in enumerate(reader, 2):
            try:
                shots = int(row["shots"])
                support = int(row["support_set"]) if row.get("support_set") else None
            except ValueError:
                raise EvalkitError(f"line {line}: not an integer", path=path, field="shots/support_set") from None
            value, components = _number(row["value"]), ()
            if value is None:
                value, components = composite(row["value"].strip(), row["metric"].strip()) or (None, ())
            values.append(PublishedValue(
                reference=reference_name(row["model"]), model=row["model"].strip(),
                benchmark=row["benchmark"].strip(), metric=row["metric"].strip(), shots=shots,
                value=value, text=row["value"].strip(),
                shot_selection=(row.get("shot_selection") or "random").strip(), support_set=support,
                source=path.name, components=components,
            ))
    return values


def load_published(folder: Path | None = None) -> list[PublishedValue]:
    """Every published cell in the folder's CSV files, in file order."""
    folder = folder or DEFAULT_FOLDER
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        raise EvalkitError("no published reference tables (*.csv) found; pass --published DIR", path=folder)
    return [value for path in files for value in _read_file(path)]


def reference_names(values: list[PublishedValue]) -> list[str]:
    return list(dict.fromkeys(value.reference for value in values))


def reference_values(name: str, folder: Path | None = None) -> list[PublishedValue]:
    """The cells of one reference model (e.g. idefics-9b); an unknown name lists the known ones."""
    values = load_published(folder)
    chosen = [value for value in values if value.reference == reference_name(name)]
    if not chosen:
        raise EvalkitError(f"unknown reference {name!r} (known: {', '.join(reference_names(values))})",
                           field="--reference")
    return chosen


def benchmark_order(folder: Path | None = None) -> list[str]:
    """Benchmarks in the order the published tables list them (the model card's column order)."""
    try:
        values = load_published(folder)
    except EvalkitError:
        return []
    return list(dict.fromkeys(value.benchmark for value in values))


def metric_matches(ours: str, published: str) -> bool:
    return published in PUBLISHED_METRICS.get(ours, (ours,))


def matching_value(candidates: list[PublishedValue], benchmark: str, metric: str, shots: int,
                   shot_selection: str, support_size: int | None = None) -> PublishedValue | None:
    """The published cell for a benchmark, metric and shot count, preferring the same shot selection
    and then the same support size; None when the reference has no such cell."""
    found = [value for value in candidates if value.benchmark == benchmark and value.shots == shots
             and metric_matches(metric, value.metric) and value.value is not None]
    if not found:
        return None
    return min(found, key=lambda value: (value.shot_selection != shot_selection,
                                         value.support_set is not None and value.support_set != support_size))
