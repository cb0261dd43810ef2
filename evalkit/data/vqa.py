"""VQA-format benchmarks: the official questions/annotations JSON files, or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.data.files import find_file, read_json, require, require_list
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

_ANNOTATION_FOLDERS = ("Questions", "Annotations", "questions", "annotations")
_IMAGE_ROOTS = ("", "images", "Images")


@dataclass(frozen=True)
class VQAFiles(FilesOrHF):
    """A VQAv2-style benchmark: file names per split and HF split names per role."""

    questions: str = "v2_OpenEnded_mscoco_{split}_questions.json"
    annotations: str = "v2_mscoco_{split}_annotations.json"
    image: str = "COCO_{split}_{image_id:012d}.jpg"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train2014", "query": "val2014"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})
    # Splits without public annotations (scored on EvalAI) -> the split their images belong to.
    test_splits: dict[str, str] = field(default_factory=lambda: {"test-dev2015": "test2015", "test2015": "test2015"})

    def describe(self) -> str:
        return (
            f"files {self.questions} + {self.annotations}, images {{split}}/{self.image} "
            f"(support {self.splits['support']}, queries {self.splits['query']}); "
            f"or a HF dataset (splits {self.hf_splits['support']}/{self.hf_splits['query']})"
        )

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        return vqa_examples_from_hf(location, split)

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        questions_path = find_file(root, self.questions.format(split=split), _ANNOTATION_FOLDERS)
        questions = _index_by_question_id(
            require_list(read_json(questions_path), "questions", questions_path), questions_path
        )
        annotations: dict[int, dict] = {}
        annotations_path = questions_path
        if split not in self.test_splits:
            annotations_path = find_file(root, self.annotations.format(split=split), _ANNOTATION_FOLDERS)
            annotations = _index_by_question_id(
                require_list(read_json(annotations_path), "annotations", annotations_path), annotations_path
            )
            _check_pairing(questions, annotations, questions_path, annotations_path, skips)
        image_split = self.test_splits.get(split, split)
        image_dir = _image_dir(root, image_split)
        examples = []
        for question_id in sorted(questions):
            question = questions[question_id]
            annotation = annotations.get(question_id, {})
            where = f"question {question_id}"
            image_id = require(question, "image_id", questions_path, where)
            answers = require(annotation, "answers", annotations_path, where) if annotations else None
            if isinstance(image_id, bool) or not str(image_id).isdigit():
                raise EvalkitError(f"{where}: image_id {image_id!r} is not a number", path=questions_path,
                                   field="image_id")
            image = FileImage(image_dir / self.image.format(split=image_split, image_id=int(image_id)))
            examples.append(
                _example(question_id, image, require(question, "question", questions_path, where),
                         answers, annotation, annotations_path, image_id)
            )
        return examples


def _index_by_question_id(records: list[Any], path: Path) -> dict[int, dict]:
    indexed: dict[int, dict] = {}
    for position, record in enumerate(records):
        question_id = require(record, "question_id", path, f"record {position}")
        if question_id in indexed:
            raise EvalkitError(f"duplicate question_id {question_id}", path=path, field="question_id")
        indexed[question_id] = record
    return indexed


def _check_pairing(questions: dict, annotations: dict, questions_path: Path, annotations_path: Path,
                   skips: Skips) -> None:
    """Every question has an annotation and the reverse; the error names the file lacking entries.
    With --skip-unpaired the unmatched entries are dropped (in place) and listed instead."""
    for have, lack, lacking_path, field_name, what in (
        (questions, annotations, annotations_path, "annotations", "question(s) have no annotation"),
        (annotations, questions, questions_path, "questions", "annotation(s) have no question"),
    ):
        unmatched = sorted(set(have) - set(lack))
        if unmatched:
            skips.skip(EvalkitError(f"{len(unmatched)} {what}, e.g. question_id {unmatched[0]}",
                                    path=lacking_path, field=field_name), unmatched)
            for question_id in unmatched:
                del have[question_id]


def _image_dir(root: Path, split: str) -> Path:
    for sub in _IMAGE_ROOTS:
        candidate = root / sub / split if sub else root / split
        if candidate.is_dir():
            return candidate
    return root / split


def answer_fields(answers: Any, path: Path | str, where: str) -> tuple[list[str], list[tuple]]:
    """Answer strings and each answer's other fields (confidence, answer id or None), from
    `[{answer, answer_confidence, answer_id}]` (official files) or a plain list of strings (HF copies).
    None (a test split, scored elsewhere) gives no answers."""
    if answers is None:
        return [], []
    if not isinstance(answers, list) or not answers:
        raise EvalkitError(f"{where} has no answers", path=path, field="answers")
    texts, records = [], []
    for answer in answers:
        if isinstance(answer, str):
            texts.append(answer)
            records.append((None, None))
        else:
            texts.append(str(require(answer, "answer", Path(str(path)), where)))
            records.append((answer.get("answer_confidence"), answer.get("answer_id")))
    return texts, records


def _example(question_id: Any, image: Any, question: str, answers: Any, annotation: dict,
             path: Path | str, image_id: Any) -> Example:
    texts, records = answer_fields(answers, path, f"question {question_id}")
    return Example(
        id=question_id,
        image=image,
        fields={"question": question},
        references=texts,
        meta={
            "image_id": image_id,
            "answer_records": records,
            "answer_type": annotation.get("answer_type", ""),
            "question_type": annotation.get("question_type", ""),
        },
    )


VQA_HF_COLUMNS = hf.HFColumns(id="question_id", fields={"question": "question"})


def vqa_examples_from_hf(location: str | Path, split: str) -> list[Example]:
    dataset, rows = hf.rows_with_images(location, split, VQA_HF_COLUMNS)
    return [
        _example(row["question_id"], hf.DatasetImage(dataset, index, "image", str(location)), row["question"],
                 row["answers"], row, location, row.get("image_id"))
        for index, row in enumerate(rows)
    ]
