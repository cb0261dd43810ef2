"""TextVQA 0.5.1: `TextVQA_0.5.1_{split}.json` with `data[]`, optional Rosetta OCR; OpenFlamingo's
conversion to the VQA format (`{split}_questions_vqa_format.json` + annotations); or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.data.files import (check_id, check_id_kinds, find_file, read_json, require, require_list,
                                require_text, safe_file_name)
from evalkit.data.vqa import OPENFLAMINGO_QUESTIONS, answer_fields, openflamingo_files, read_vqa_format
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

HF_COLUMNS = hf.HFColumns(id="question_id", fields={"question": "question"})  # ocr_tokens: optional


def _example(question_id, image, question: str, answers, ocr_tokens: list, image_id, where: str,
             path) -> Example:
    # The ten answers are ten annotators' (OpenFlamingo's converted file numbers them 1-10).
    texts, records = answer_fields(answers, path, where, numbered=True)
    return Example(
        id=question_id, image=image,
        fields={"question": question, "ocr_tokens": ", ".join(map(str, ocr_tokens))},
        references=texts,
        meta={"image_id": image_id, "answer_records": records},
    )


@dataclass(frozen=True)
class TextVQAFiles(FilesOrHF):
    annotations: str = "TextVQA_0.5.1_{split}.json"
    ocr: str = "TextVQA_Rosetta_OCR_v0.2_{split}.json"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return (f"files {self.annotations} (+ optional {self.ocr}), images train_images/{{image_id}}.jpg "
                f"(support train, queries val); or OpenFlamingo's {OPENFLAMINGO_QUESTIONS} + annotations; "
                f"or a HF dataset (facebook/textvqa, lmms-lab/textvqa)")

    def _ocr_tokens(self, root: Path, split: str) -> dict[str, list]:
        path = root / self.ocr.format(split=split)
        if not path.is_file():
            return {}
        records = require_list(read_json(path), "data", path)
        return {str(require(r, "image_id", path, f"record {i}")): r.get("ocr_tokens", []) for i, r in enumerate(records)}

    def _image_dir(self, root: Path, split: str) -> Path:
        return root / ("test_images" if split == "test" else "train_images")

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        official = root / self.annotations.format(split=split)
        converted = None if official.is_file() else openflamingo_files(root, split)
        if converted is not None:
            return self._from_openflamingo(root, split, *converted, skips)
        path = find_file(root, self.annotations.format(split=split),
                         also=f"nor OpenFlamingo's {OPENFLAMINGO_QUESTIONS.format(split=split)}")
        records = require_list(read_json(path), "data", path)
        ocr = self._ocr_tokens(root, split)
        examples, seen = [], set()
        for position, record in enumerate(records):
            where = f"record {position}"
            question_id = check_id(require(record, "question_id", path, where), path, "question_id", where)
            if question_id in seen:
                raise EvalkitError(f"duplicate question_id {question_id}", path=path, field="question_id")
            seen.add(question_id)
            image_id = safe_file_name(require(record, "image_id", path, where), path, "image_id")
            answers = None if split == "test" else require(record, "answers", path, where)
            examples.append(_example(question_id, FileImage(self._image_dir(root, split) / f"{image_id}.jpg"),
                                     require_text(record, "question", path, where), answers,
                                     ocr.get(image_id, []), image_id, f"question {question_id}", path))
        check_id_kinds(seen, path, "question_id")
        return examples

    def _from_openflamingo(self, root: Path, split: str, questions: Path, annotations: Path | None,
                           skips: Skips) -> list[Example]:
        ocr = self._ocr_tokens(root, split)
        examples = []
        for pair in read_vqa_format(questions, annotations, skips):
            image_id = safe_file_name(require(pair.question, "image_id", questions, pair.where), questions, "image_id")
            image = FileImage(self._image_dir(root, split) / f"{image_id}.jpg")
            examples.append(_example(pair.question_id, image, require_text(pair.question, "question", questions,
                                                                          pair.where),
                                     pair.answers(), ocr.get(image_id, []), image_id, pair.where,
                                     annotations or questions))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset, rows = hf.rows_with_images(location, split, HF_COLUMNS)
        return [
            _example(row["question_id"], hf.DatasetImage(dataset, index, "image", str(location)),
                     hf.row_text(row, "question", location, index), row["answers"], row.get("ocr_tokens") or [],
                     row.get("image_id"), f"question {row['question_id']}", location)
            for index, row in enumerate(rows)]
