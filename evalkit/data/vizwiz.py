"""VizWiz-VQA: `Annotations/{split}.json` (a list, no question ids: the image file name is the id), or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.data.files import find_file, read_json, require, safe_file_name
from evalkit.data.vqa import answer_fields
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

HF_COLUMNS = hf.HFColumns(id="question_id", fields={"question": "question"})


def _example(image_name: str, image, question: str, answers, record: dict, path, where: str) -> Example:
    texts, records = answer_fields(answers, path, where)
    answerable = record.get("answerable")
    if answerable is None and texts:
        answerable = int(sum(text == "unanswerable" for text in texts) < len(texts) / 2)
    return Example(id=image_name, image=image, fields={"question": question}, references=texts,
                   meta={"answer_records": records, "answer_type": record.get("answer_type", ""),
                         "answerable": None if answerable is None else int(answerable)})


@dataclass(frozen=True)
class VizWizFiles(FilesOrHF):
    annotations: str = "{split}.json"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})

    def describe(self) -> str:
        return ("files Annotations/{train,val}.json, images {split}/VizWiz_{split}_NNNNNNNN.jpg "
                "(support train, queries val); or a HF dataset (lmms-lab/VizWiz-VQA)")



    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, self.annotations.format(split=split), ("Annotations", "annotations"))
        records = read_json(path)
        if not isinstance(records, list):
            raise EvalkitError("expected a JSON list of questions", path=path)
        examples, seen = [], set()
        for position, record in enumerate(records):
            where = f"record {position}"
            image_name = safe_file_name(require(record, "image", path, where), path, "image")
            if image_name in seen:
                raise EvalkitError(f"duplicate image {image_name}", path=path, field="image")
            seen.add(image_name)
            answers = None if split == "test" else require(record, "answers", path, where)
            examples.append(_example(image_name, FileImage(root / split / image_name),
                                     require(record, "question", path, where), answers, record, path, where))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset, rows = hf.rows_with_images(location, split, HF_COLUMNS)
        return [
            _example(str(row["question_id"]), hf.DatasetImage(dataset, index, "image", str(location)),
                     row["question"], row["answers"], row, location, f"row {index}")
            for index, row in enumerate(rows)]
