"""VQA-format benchmarks: the official questions/annotations JSON files, or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.data.files import (check_id, check_id_kinds, find_file, read_json, require, require_list,
                                require_text, text_value)
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
        annotations_path = None
        if split not in self.test_splits:
            annotations_path = find_file(root, self.annotations.format(split=split), _ANNOTATION_FOLDERS)
        image_split = self.test_splits.get(split, split)
        image_dir = _image_dir(root, image_split)
        examples = []
        images: dict[Any, FileImage] = {}  # VQAv2 asks about 3 questions per image: one path each
        for pair in read_vqa_format(questions_path, annotations_path, skips):
            image_id = require(pair.question, "image_id", questions_path, pair.where)
            image = images.get(image_id)
            if image is None:
                if isinstance(image_id, bool) or not str(image_id).isdigit():
                    raise EvalkitError(f"{pair.where}: image_id {image_id!r} is not a number", path=questions_path,
                                       field="image_id")
                name = self.image.format(split=image_split, image_id=int(image_id))
                image = images[image_id] = FileImage(image_dir / name)
            examples.append(pair.example(image, numbered=True))
        return examples


@dataclass(slots=True)  # not frozen: 214k of them are made when VQAv2 val is read
class VQAPair:
    """One question of a VQA-format split and its annotation (None in a split without answers)."""

    question: dict
    annotation: dict | None
    questions_path: Path
    annotations_path: Path | None

    @property
    def question_id(self) -> int | str:
        return self.question["question_id"]

    @property
    def where(self) -> str:
        return f"question {self.question_id}"

    def answers(self) -> Any:
        if self.annotation is None:
            return None
        return require(self.annotation, "answers", self.annotations_path or self.questions_path, self.where)

    def example(self, image: Any, numbered: bool) -> Example:
        question = require_text(self.question, "question", self.questions_path, self.where)
        return _example(self.question_id, image, question, self.answers(), self.annotation or {},
                        self.annotations_path or self.questions_path, self.question.get("image_id"), numbered)


def read_vqa_format(questions_path: Path, annotations_path: Path | None, skips: Skips) -> list[VQAPair]:
    """A VQA-format split (a questions file and an annotations file, paired by question_id) in
    question_id order; without an annotations file (a test split) every annotation is None."""
    questions = _index_by_question_id(require_list(read_json(questions_path), "questions", questions_path),
                                      questions_path)
    annotations: dict[Any, dict] = {}
    if annotations_path is not None:
        annotations = _index_by_question_id(
            require_list(read_json(annotations_path), "annotations", annotations_path), annotations_path)
        _check_pairing(questions, annotations, questions_path, annotations_path, skips)
    return [VQAPair(questions[question_id], annotations.get(question_id) if annotations_path else None,
                    questions_path, annotations_path) for question_id in sorted(questions)]


# OpenFlamingo's conversion of TextVQA and VizWiz to the VQA format (`<split>_questions_vqa_format.json`,
# `<split>_annotations_vqa_format.json`), which users reproducing its report hold.
OPENFLAMINGO_QUESTIONS = "{split}_questions_vqa_format.json"
OPENFLAMINGO_ANNOTATIONS = "{split}_annotations_vqa_format.json"


def openflamingo_files(root: Path, split: str) -> tuple[Path, Path | None] | None:
    """The questions and annotations files of OpenFlamingo's conversion of `split` in `root` (or
    its Annotations/ folder), None when there are none; a split without an annotations file (test)
    gives None for it."""
    for folder in (root, *(root / sub for sub in _ANNOTATION_FOLDERS)):
        questions = folder / OPENFLAMINGO_QUESTIONS.format(split=split)
        if questions.is_file():
            annotations = folder / OPENFLAMINGO_ANNOTATIONS.format(split=split)
            if not annotations.is_file() and split != "test":
                raise EvalkitError(f"missing file {annotations.name} beside {questions.name}", path=annotations)
            return questions, annotations if annotations.is_file() else None
    return None


def _index_by_question_id(records: list[Any], path: Path) -> dict[Any, dict]:
    try:  # the usual file: integer ids, each once (checked record by record below otherwise)
        indexed = {record["question_id"]: record for record in records}
        if len(indexed) == len(records) and all(type(question_id) is int for question_id in indexed):
            return indexed
    except (TypeError, KeyError):
        pass
    indexed = {}
    for position, record in enumerate(records):
        where = f"record {position}"
        question_id = check_id(require(record, "question_id", path, where), path, "question_id", where)
        if question_id in indexed:
            raise EvalkitError(f"duplicate question_id {question_id}", path=path, field="question_id")
        indexed[question_id] = record
    check_id_kinds(indexed, path, "question_id")
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


def answer_fields(answers: Any, path: Path | str, where: str, numbered: bool) -> tuple[list[str], list[tuple]]:
    """Answer strings and each answer's other fields (confidence, answer id), from any form files and
    HF copies use: `[{answer, answer_confidence, answer_id}]` (official files; HF copies declaring a
    list of structs), `{"answer": [...], "answer_confidence": [...], ...}` (HF copies declaring
    `Sequence({...})`: a dict of lists) or plain strings. Where an answer has no id, `numbered` gives
    it its position (1-10): for benchmarks whose official files number the ten annotators (VQAv2,
    OK-VQA; TextVQA as OpenFlamingo converted it), so that OpenFlamingo's leave-one-out treats them as
    distinct. VizWiz's files number nothing. None (a test split) gives no answers."""
    if answers is None:
        return [], []
    if isinstance(answers, dict):
        answers = _rows_of(answers, path, where)
    if not isinstance(answers, list) or not answers:
        raise EvalkitError(f"{where} has no answers", path=path, field="answers")
    numbers = range(1, len(answers) + 1) if numbered else [None] * len(answers)
    try:  # official files (2.1M answers in VQAv2 val): no check per answer unless one is bad
        texts = [answer["answer"] for answer in answers]
        "".join(texts)  # TypeError unless every answer is text
        return texts, [(answer.get("answer_confidence"), answer.get("answer_id", number))
                       for answer, number in zip(answers, numbers)]
    except (TypeError, KeyError, AttributeError):
        pass
    texts, records = [], []  # other forms, and the error that names a bad answer
    for position, answer in enumerate(answers, 1):
        number = position if numbered else None
        if isinstance(answer, dict):
            text = answer.get("answer")
            if not isinstance(text, str):  # the message is only built for a bad answer (2.1M in VQAv2 val)
                require_text(answer, "answer", path, f"{where}, answer {position}")
            texts.append(text)
            records.append((answer.get("answer_confidence"), answer.get("answer_id", number)))
        else:
            if not isinstance(answer, str):
                text_value(answer, path, "answers", f"{where}, answer {position}")
            texts.append(answer)
            records.append((None, number))
    return texts, records


def _rows_of(columns: dict, path: Path | str, where: str) -> list[dict]:
    """`{"answer": [a1, a2], "answer_confidence": [c1, c2]}` -> `[{answer: a1, ...}, {answer: a2, ...}]`."""
    if not isinstance(columns.get("answer"), list):
        raise EvalkitError(f"{where}: answers hold no list of answer", path=path, field="answers")
    lengths = {name: len(values) if isinstance(values, list) else -1 for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise EvalkitError(f"{where}: the answers' lists differ in length "
                           f"({', '.join(f'{name} {n}' for name, n in lengths.items())})", path=path, field="answers")
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _example(question_id: Any, image: Any, question: str, answers: Any, annotation: dict,
             path: Path | str, image_id: Any, numbered: bool) -> Example:
    texts, records = answer_fields(answers, path, f"question {question_id}", numbered)
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
        _example(row["question_id"], hf.DatasetImage(dataset, index, "image", str(location)),
                 hf.row_text(row, "question", location, index), row["answers"], row, location, row.get("image_id"),
                 numbered=True)
        for index, row in enumerate(rows)
    ]
