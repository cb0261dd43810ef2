"""The sample browser's data, as script files a page opened from disk can load (browsers refuse
`fetch` on file:// pages, not `<script src>`): each calls `evalkitData(name, value)`.

Per run, task, shot count and seed (a "setting"):
    data/r<run>/s<n>/index.js   every sample's id, score, prediction, wrong flag, groups and search
                                text: loaded when the setting is opened, so filters and search see all
    data/r<run>/s<n>/c<k>.js    the details of samples k*CHUNK ... (k+1)*CHUNK-1: loaded page by page
Per run and task:
    data/r<run>/t<m>-support.js the demos' images, text and answers by id (from examples.jsonl), so
                                a 32-shot sample carries 32 ids, not 32 copies of its demos
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from evalkit.errors import EvalkitError
from evalkit.report.cards import metric_label
from evalkit.report.store import EXAMPLES_FILE, StoredRun, benchmark_name, jsonl_records
from evalkit.report.view_images import ImageStore

IMAGE_MARKER = "<image>"  # where samples.jsonl's prompts had an image
CHUNK = 50  # samples per details file
TOP_CHOICES = 5  # ranking tasks: choices shown with their scores
MAX_GROUP_VALUES = 1000  # a metadata field with more distinct values is no filter (ImageNet has 1,000 classes)
DETAIL_FIELDS = ("demo_ids", "prompt", "generation", "prediction")
# What a sample's score is, per metric (the score column of samples.jsonl): its label, its meaning.
SAMPLE_SCORES = {
    "vqa_accuracy": ("VQA acc", "VQA accuracy of this answer, from 0 to 100 (the tables show the mean)"),
    "cider": ("per-image CIDEr", "CIDEr of this caption (x100, idf of the whole query set; the mean is the "
                                 "corpus CIDEr)"),
    "roc_auc": ("P(positive) x100", "the positive class's probability x100 (ROC-AUC is computed over all samples)"),
    "accuracy": ("top-1", "100 when the top choice is the gold class, else 0"),
}


def data_script(name: str, value: Any) -> str:
    return f"evalkitData({json.dumps(name)},{json.dumps(value, ensure_ascii=False, separators=(',', ':'))});\n"


@dataclass
class RunExamples:
    """examples.jsonl of one run: queries and demo examples by (task, id)."""

    queries: dict[tuple[str, Any], dict] = field(default_factory=dict)
    support: dict[str, dict[Any, dict]] = field(default_factory=lambda: defaultdict(dict))
    found: bool = False


def read_examples(run: StoredRun) -> RunExamples:
    path = run.folder / EXAMPLES_FILE
    examples = RunExamples()
    if not path.is_file():
        return examples
    examples.found = True
    for number, record in jsonl_records(path):
        if not all(key in record for key in ("task", "role", "id")):
            raise EvalkitError(f"line {number} is not an example record", path=path, field="task, role, id")
        if record["role"] == "query":
            examples.queries[(record["task"], record["id"])] = record
        else:
            examples.support[record["task"]][record["id"]] = record
    return examples


def _top_choices(scores: dict[str, float], gold: Any) -> list[list]:
    """The best TOP_CHOICES choices with their scores, and the gold class with its rank when lower."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    shown = [[name, score, rank + 1] for rank, (name, score) in enumerate(ranked[:TOP_CHOICES])]
    for rank, (name, score) in enumerate(ranked[TOP_CHOICES:], TOP_CHOICES):
        if name == gold:
            shown.append([name, score, rank + 1])
    return shown


def is_wrong(record: dict[str, Any]) -> bool:
    """Ranking tasks: the top choice is not the gold class; otherwise a score of 0."""
    if "reference" in record and record.get("prediction") is not None:
        return record["prediction"] != record["reference"]
    return record.get("score") == 0


def _search_text(record: dict[str, Any], query: dict[str, Any]) -> str:
    generation = record.get("generation")
    parts = [*map(str, query.get("fields", {}).values()), *map(str, query.get("references", [])),
             str(record.get("prediction", "")), generation if isinstance(generation, str) else ""]
    return " ".join(parts).lower()


def _is_group(name: str, values: list, count: int) -> bool:
    """Metadata worth a filter: not an identifier, a few distinct values."""
    distinct = len(set(values))
    return not (name == "id" or name.endswith("_id")) and 1 < distinct <= MAX_GROUP_VALUES and \
        not (distinct == count and count > 20)


class SettingData:
    """One setting's index columns, and its details written CHUNK samples at a time."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self.folder.mkdir(parents=True, exist_ok=True)
        self.columns: dict[str, list] = {"ids": [], "score": [], "pred": [], "wrong": [], "text": []}
        self.groups: dict[str, list] = defaultdict(list)
        self.chunk: list[dict] = []
        self.chunks = 0
        self.lacking: dict[str, int] = defaultdict(int)  # detail field -> samples without it
        self.without_example = 0

    def add(self, record: dict[str, Any], query: dict[str, Any] | None, images: ImageStore) -> None:
        count = len(self.columns["ids"])
        if query is None:
            self.without_example += 1
        query = query or {}
        score = record.get("score")
        self.columns["ids"].append(record["id"])
        self.columns["score"].append(round(score, 4) if isinstance(score, (int, float)) else None)
        self.columns["pred"].append(_short(record.get("prediction")))
        self.columns["wrong"].append(1 if is_wrong(record) else 0)
        self.columns["text"].append(_search_text(record, query))
        groups = {**query.get("groups", {}), **({"class": record["reference"]} if "reference" in record else {})}
        for name in set(groups) | set(self.groups):
            self.groups[name].extend([None] * (count - len(self.groups[name])))
            self.groups[name].append(groups.get(name))
        for name in DETAIL_FIELDS:
            self.lacking[name] += name not in record
        self.chunk.append(self._details(record, query, images))
        if len(self.chunk) == CHUNK:
            self._flush()

    def _details(self, record: dict[str, Any], query: dict[str, Any], images: ImageStore) -> dict[str, Any]:
        prompt = record.get("prompt")
        generation = record.get("generation")
        details = {key: record.get(key) for key in ("id", "score", "prediction", "demo_ids")}
        details.update(prompt=prompt, image=images.add(query.get("image")), fields=query.get("fields"),
                       references=query.get("references"), groups=query.get("groups"))
        details["demoImages"] = prompt.count(IMAGE_MARKER) - 1 if isinstance(prompt, str) else None
        if isinstance(generation, dict):  # ranking: the choices' scores
            details["choices"] = _top_choices(generation, record.get("reference"))
            details["reference"] = record.get("reference")
        else:
            details["generation"] = generation
        return details

    def _flush(self) -> None:
        if self.chunk:
            write_script(self.folder / f"c{self.chunks}.js", f"{self.key}/c{self.chunks}", self.chunk)
            self.chunks += 1
            self.chunk = []

    def finish(self) -> dict[str, Any]:
        """Write the last details and the index; returns what the page's manifest says of the setting."""
        self._flush()
        count = len(self.columns["ids"])
        groups = {}
        for name, values in sorted(self.groups.items()):
            values += [None] * (count - len(values))
            if _is_group(name, [v for v in values if v is not None], count):
                names = sorted({str(v) for v in values if v is not None})
                codes = {value: number for number, value in enumerate(names)}
                groups[name] = {"values": names, "codes": [None if v is None else codes[str(v)] for v in values]}
        write_script(self.folder / "index.js", f"{self.key}/index", {**self.columns, "groups": groups})
        missing = [f"samples.jsonl has no {name} for {number} of {count} samples"
                   for name, number in self.lacking.items() if number]
        if self.without_example:
            missing.append(f"{self.without_example} of {count} samples have no image or question recorded "
                           f"(examples.jsonl)")
        return {"count": count, "wrongCount": sum(self.columns["wrong"]), "chunk": CHUNK, "groups": list(groups),
                "missing": missing}


def _short(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float)) else json.dumps(value)


def write_file(path: Path, text: str) -> None:
    """Written as the user's umask says (a report may be served to others), its folder created."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise EvalkitError(f"cannot write ({error.strerror})", path=path) from None


def write_script(path: Path, name: str, value: Any) -> None:
    write_file(path, data_script(name, value))


def _support_table(examples: dict[Any, dict], images: ImageStore) -> dict[str, dict]:
    """The task's demos by id (as JSON text: ids are numbers or strings): image, fields, answer."""
    return {json.dumps(example_id): {"image": images.add(record.get("image")), "fields": record.get("fields"),
                                     "answer": record.get("answer")}
            for example_id, record in examples.items()}


def _settings_of(run: StoredRun) -> Iterator[tuple[str, int, int]]:
    for task_name, task in run.tasks.items():
        for shots, entry in task["shots"].items():
            for seed in entry.get("per_seed", {}):
                if seed.lstrip("-").isdigit():
                    yield task_name, int(shots), int(seed)


def write_run_data(run: StoredRun, number: int, out: Path, images: ImageStore) -> tuple[list[dict], list[str]]:
    """Every setting of one run: the data files, and the manifest entries with notes on what is missing."""
    examples = read_examples(run)
    notes = [] if examples.found else [
        f"{run.folder / EXAMPLES_FILE} not found (a run made before evalkit recorded it): no images, questions "
        "or references are shown for this run, only what samples.jsonl holds"]
    tasks = list(run.tasks)
    for position, task in enumerate(tasks):
        write_script(out / f"r{number}" / f"t{position}-support.js", f"r{number}/t{position}-support",
                     _support_table(examples.support.get(task, {}), images))
    settings: dict[tuple[str, int, int], SettingData] = {}
    for record in run.samples():
        setting = (record["task"], int(record["shots"]), int(record["seed"]))
        if setting not in settings:
            key = f"r{number}/s{len(settings)}"
            settings[setting] = SettingData(out / key, key)
        settings[setting].add(record, examples.queries.get((record["task"], record["id"])), images)
    manifest = []
    order = {setting: position for position, setting in enumerate(_settings_of(run))}
    for (task, shots, seed), data in sorted(settings.items(), key=lambda item: order.get(item[0], len(order))):
        result = run.tasks.get(task, {})
        aggregate = result.get("shots", {}).get(str(shots), {}).get("per_seed", {}).get(str(seed), {})
        metric = str(result.get("metric", ""))
        manifest.append({
            "key": data.key, "run": number, "task": task, "benchmark": benchmark_name(task, result) if result else task,
            "shots": shots, "seed": seed, "metric": metric, "metricLabel": metric_label(metric),
            "sampleLabel": SAMPLE_SCORES.get(metric, ("score",))[0],
            "scoreMeaning": SAMPLE_SCORES.get(metric, ("", "the metric's score of this sample"))[1],
            "score": aggregate.get("score") if isinstance(aggregate, dict) else None,
            "support": f"r{number}/t{tasks.index(task)}-support" if task in tasks else None,
            **data.finish(),
        })
    return manifest, notes
