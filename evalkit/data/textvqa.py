"""TextVQA 0.5.1: `TextVQA_0.5.1_{split}.json` with `data[]`, optional Rosetta OCR, or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.data.files import find_file, read_json, require, require_list, safe_file_name
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

HF_COLUMNS = hf.HFColumns(id="question_id", fields={"question": "question"})  # ocr_tokens: optional


def _example(question_id, image, question: str, answers: list, ocr_tokens: list, image_id, where: str,
             path) -> Example:
    if not isinstance(answers, list) or not answers:
        raise EvalkitError(f"{where} has no answers", path=path, field="answers")
    return Example(
        id=question_id, image=image,
        fields={"question": question, "ocr_tokens": ", ".join(map(str, ocr_tokens))},
        references=[str(answer) for answer in answers],
        meta={"image_id": image_id, "answer_records": [(None, None)] * len(answers)},
    )


@dataclass(frozen=True)
class TextVQAFiles(FilesOrHF):
    annotations: str = "TextVQA_0.5.1_{split}.json"
    ocr: str = "TextVQA_Rosetta_OCR_v0.2_{split}.json"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return (f"files {self.annotations} (+ optional {self.ocr}), images train_images/{{image_id}}.jpg "
                f"(support train, queries val); or a HF dataset (facebook/textvqa, lmms-lab/textvqa)")



    def _ocr_tokens(self, root: Path, split: str) -> dict[str, list]:
        path = root / self.ocr.format(split=split)
        if not path.is_file():
            return {}
        records = require_list(read_json(path), "data", path)
        return {str(require(r, "image_id", path, f"record {i}")): r.get("ocr_tokens", []) for i, r in enumerate(records)}

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, self.annotations.format(split=split))
        records = require_list(read_json(path), "data", path)
        ocr = self._ocr_tokens(root, split)
        image_dir = root / ("test_images" if split == "test" else "train_images")
        examples, seen = [], set()
        for position, record in enumerate(records):
            where = f"record {position}"
            question_id = require(record, "question_id", path, where)
            if question_id in seen:
                raise EvalkitError(f"duplicate question_id {question_id}", path=path, field="question_id")
            seen.add(question_id)
            image_id = safe_file_name(require(record, "image_id", path, where), path, "image_id")
            examples.append(_example(question_id, FileImage(image_dir / f"{image_id}.jpg"),
                                     require(record, "question", path, where), require(record, "answers", path, where),
                                     ocr.get(image_id, []), image_id, f"question {question_id}", path))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset, rows = hf.rows_with_images(location, split, HF_COLUMNS)
        return [
            _example(row["question_id"], hf.DatasetImage(dataset, index, "image", str(location)), row["question"],
                     row["answers"], row.get("ocr_tokens") or [], row.get("image_id"),
                     f"question {row['question_id']}", location)
            for index, row in enumerate(rows)]
