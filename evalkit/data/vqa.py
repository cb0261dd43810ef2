"""VQA-format benchmarks: the official questions/annotations JSON files, or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data import hf
from evalkit.data.files import find_file, read_json, require, require_list
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

_ANNOTATION_FOLDERS = ("Questions", "Annotations", "questions", "annotations")
_IMAGE_ROOTS = ("", "images", "Images")


@dataclass(frozen=True)
class VQAFiles:
    """A VQAv2-style benchmark: file names per split and HF split names per role."""

    questions: str = "v2_OpenEnded_mscoco_{split}_questions.json"
    annotations: str = "v2_mscoco_{split}_annotations.json"
    image: str = "COCO_{split}_{image_id:012d}.jpg"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train2014", "query": "val2014"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return (
            f"files {self.questions} + {self.annotations}, images {{split}}/{self.image} "
            f"(support {self.splits['support']}, queries {self.splits['query']}); "
            f"or a HF dataset (splits {self.hf_splits['support']}/{self.hf_splits['query']})"
        )

    def split_name(self, role: str, hf_source: bool) -> str:
        return (self.hf_splits if hf_source else self.splits)[role]

    def load(self, location: str | Path, role: str, split: str | None = None) -> list[Example]:
        source_is_hf = hf.looks_like_hf(location)
        split = split or self.split_name(role, source_is_hf)
        if source_is_hf:
            return _from_hf(location, split)
        return self._from_files(Path(location), split)

    def _from_files(self, root: Path, split: str) -> list[Example]:
        questions_path = find_file(root, self.questions.format(split=split), _ANNOTATION_FOLDERS)
        annotations_path = find_file(root, self.annotations.format(split=split), _ANNOTATION_FOLDERS)
        questions = _index_by_question_id(
            require_list(read_json(questions_path), "questions", questions_path), questions_path
        )
        annotations = _index_by_question_id(
            require_list(read_json(annotations_path), "annotations", annotations_path), annotations_path
        )
        _check_pairing(questions, annotations, questions_path, annotations_path)
        image_dir = _image_dir(root, split)
        examples = []
        for question_id in sorted(questions):
            question = questions[question_id]
            annotation = annotations[question_id]
            where = f"question {question_id}"
            image_id = require(question, "image_id", questions_path, where)
            answers = require(annotation, "answers", annotations_path, where)
            image = FileImage(image_dir / self.image.format(split=split, image_id=int(image_id)))
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


def _check_pairing(questions: dict, annotations: dict, questions_path: Path, annotations_path: Path) -> None:
    """Every question has an annotation and the reverse; the error names the file lacking entries."""
    for have, lack, lacking_path, field_name, what in (
        (questions, annotations, annotations_path, "annotations", "question(s) have no annotation"),
        (annotations, questions, questions_path, "questions", "annotation(s) have no question"),
    ):
        unmatched = sorted(set(have) - set(lack))
        if unmatched:
            raise EvalkitError(f"{len(unmatched)} {what}, e.g. question_id {unmatched[0]}",
                               path=lacking_path, field=field_name)


def _image_dir(root: Path, split: str) -> Path:
    for sub in _IMAGE_ROOTS:
        candidate = root / sub / split if sub else root / split
        if candidate.is_dir():
            return candidate
    return root / split


def _answer_texts(answers: Any, path: Path | str, where: str) -> tuple[list[str], list[Any]]:
    """Answer strings and answer ids from `[{answer, answer_id, ...}]` or a plain list of strings."""
    if not isinstance(answers, list) or not answers:
        raise EvalkitError(f"{where} has no answers", path=path, field="answers")
    texts, ids = [], []
    for position, answer in enumerate(answers):
        if isinstance(answer, str):
            texts.append(answer)
            ids.append(position + 1)
        else:
            texts.append(str(require(answer, "answer", Path(str(path)), where)))
            ids.append(answer.get("answer_id", position + 1))
    return texts, ids


def _example(question_id: Any, image: Any, question: str, answers: Any, annotation: dict,
             path: Path | str, image_id: Any) -> Example:
    texts, ids = _answer_texts(answers, path, f"question {question_id}")
    return Example(
        id=question_id,
        image=image,
        fields={"question": question},
        references=texts,
        meta={
            "image_id": image_id,
            "answer_ids": ids,
            "answer_type": annotation.get("answer_type", ""),
            "question_type": annotation.get("question_type", ""),
        },
    )


def _from_hf(location: str | Path, split: str) -> list[Example]:
    dataset = hf.open_split(location, split)
    hf.require_columns(dataset, ["question_id", "question", "answers", "image"], location)
    examples, seen = [], set()
    for index, row in enumerate(hf.text_rows(dataset, "image")):
        question_id = row["question_id"]
        if question_id in seen:
            raise EvalkitError(f"duplicate question_id {question_id}", path=location, field="question_id")
        seen.add(question_id)
        image = hf.DatasetImage(dataset, index, "image", str(location))
        examples.append(_example(question_id, image, row["question"], row["answers"], row,
                                 location, row.get("image_id")))
    return sorted(examples, key=lambda example: example.id)
