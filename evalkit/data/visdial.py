"""VisDial v1.0: dialogs about an image, ranked over 100 answer options, scored on the densely
annotated round of each val dialog.

Official files: `visdial_1.0_{train,val}.json` = `{split, data: {questions: [str], answers: [str],
dialogs: [{image_id, caption, dialog: [{question, answer, answer_options: [100 ints], gt_index}]}]}}`
(questions and answers are indices into the global lists); `visdial_1.0_val_dense_annotations.json` =
`[{image_id, round_id (1-based), gt_relevance: [100 floats]}]`, one annotated round per val dialog.
Images: train dialogs show COCO images (`train2014/COCO_train2014_{id:012d}.jpg` or the val2014
equivalent), val dialogs `VisualDialog_val2018/VisualDialog_val2018_{id:012d}.jpg`.

Queries (val): the annotated round of each dialog, its history the caption and every earlier round,
its candidates the round's options with their relevance. Shots (train): rounds 1-9 as history, the
last round's answer as the label. The plugin gives the wording of a history round and of the open
question (m4's `Question: q? Answer: a. `); the HF copy is m4's evaluation set as its public builder
(create_visdial.py) writes it, whose `context` is already worded that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data import hf
from evalkit.data.files import find_file, read_json, require, require_list
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

DIALOG_FILE = "visdial_1.0_{split}.json"
DENSE_FILE = "visdial_1.0_{split}_dense_annotations.json"
COCO_IMAGES = (("train2014", "COCO_train2014_{image_id:012d}.jpg"), ("val2014", "COCO_val2014_{image_id:012d}.jpg"))
VAL_IMAGES = ("VisualDialog_val2018", "VisualDialog_val2018_{image_id:012d}.jpg")


@dataclass(frozen=True)
class _Dialogs:
    """One dialog file: the global string lists and the dialogs, checked where they are used."""

    path: Path
    questions: list
    answers: list
    dialogs: list

    def text(self, kind: str, index: Any, where: str) -> str:
        strings = self.questions if kind == "question" else self.answers
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(strings):
            raise EvalkitError(f"{where}: {kind} index {index!r} is not in data.{kind}s", path=self.path, field=kind)
        return str(strings[index])

    def rounds(self, dialog: dict, where: str) -> list[dict]:
        rounds = require(dialog, "dialog", self.path, where)
        if not isinstance(rounds, list) or not rounds:
            raise EvalkitError(f"{where} has no rounds", path=self.path, field="dialog")
        return rounds


@dataclass(frozen=True)
class VisDialFiles(FilesOrHF):
    round_text: str = "Question: {question}? Answer: {answer}. "  # one round of the history
    open_question: str = "Question: {question}? Answer:"  # the round asked, its answer left open
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "test_support_set",
                                                                "query": "test_query_set"})

    def describe(self) -> str:
        return ("files visdial_1.0_{train,val}.json + visdial_1.0_val_dense_annotations.json, images "
                "train2014/ val2014/ VisualDialog_val2018/ (support train dialogs, queries the dense val "
                "rounds); or m4's evaluation set (test_support_set / test_query_set)")

    def _read(self, root: Path, split: str) -> _Dialogs:
        path = find_file(root, DIALOG_FILE.format(split=split))
        document = read_json(path)
        data = require(document, "data", path, "the file")
        return _Dialogs(path, require_list(data, "questions", path), require_list(data, "answers", path),
                        require_list(data, "dialogs", path))

    def _context(self, dialogs: _Dialogs, rounds: list[dict], asked: int, where: str) -> str:
        """Every round before `asked` (0-based), then the question of round `asked`."""
        history = "".join(self.round_text.format(
            question=dialogs.text("question", require(r, "question", dialogs.path, where), where),
            answer=dialogs.text("answer", require(r, "answer", dialogs.path, where), where)) for r in rounds[:asked])
        question = dialogs.text("question", require(rounds[asked], "question", dialogs.path, where), where)
        return history + self.open_question.format(question=question)

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        dialogs = self._read(root, split)
        dense_path = root / DENSE_FILE.format(split=split)
        dense = _dense_rounds(dense_path) if dense_path.is_file() else None
        if dense is None and split != "train":
            find_file(root, DENSE_FILE.format(split=split))  # the one-line "missing file" error
        examples, seen, unannotated = [], set(), []
        for position, dialog in enumerate(dialogs.dialogs):
            where = f"dialog {position}"
            image_id = require(dialog, "image_id", dialogs.path, where)
            if image_id in seen:
                raise EvalkitError(f"duplicate image_id {image_id}", path=dialogs.path, field="image_id")
            seen.add(image_id)
            if dense is not None and image_id not in dense:
                unannotated.append(image_id)
                continue
            rounds = dialogs.rounds(dialog, where)
            caption = str(require(dialog, "caption", dialogs.path, where))
            image = self._image(root, split, image_id, dialogs.path, where)
            if dense is None:  # a shot: the last round's answer is its label
                answer = dialogs.text("answer", require(rounds[-1], "answer", dialogs.path, where), where)
                examples.append(Example(image_id, image, {"caption": caption,
                                                          "context": self._context(dialogs, rounds, len(rounds) - 1, where)},
                                        [answer]))
            else:
                examples.append(self._dense_query(dialogs, dense.pop(image_id), image_id, image, caption, rounds,
                                                  dense_path, where))
        if unannotated:
            skips.skip(EvalkitError(f"{len(unannotated)} dialog(s) have no dense annotation, e.g. image_id "
                                    f"{unannotated[0]}", path=dense_path, field="image_id"), unannotated)
        if dense:
            skips.skip(EvalkitError(f"{len(dense)} dense annotation(s) name no dialog of {dialogs.path.name}, "
                                    f"e.g. image_id {next(iter(dense))}", path=dense_path, field="image_id"),
                       sorted(dense))
        return examples

    def _dense_query(self, dialogs: _Dialogs, annotation: dict, image_id: Any, image: FileImage, caption: str,
                     rounds: list[dict], dense_path: Path, where: str) -> Example:
        round_id = annotation["round_id"]
        if isinstance(round_id, bool) or not isinstance(round_id, int) or not 1 <= round_id <= len(rounds):
            raise EvalkitError(f"image_id {image_id}: round_id {round_id!r} is not one of the dialog's "
                               f"{len(rounds)} rounds (1-based)", path=dense_path, field="round_id")
        asked = rounds[round_id - 1]
        options = [dialogs.text("answer", index, where)
                   for index in require_list(asked, "answer_options", dialogs.path)]
        relevance = annotation["relevance"]
        if len(relevance) != len(options):
            raise EvalkitError(f"image_id {image_id}: {len(relevance)} relevance values for {len(options)} "
                               "answer options", path=dense_path, field="gt_relevance")
        answer = dialogs.text("answer", require(asked, "answer", dialogs.path, where), where)
        return Example(image_id, image, {"caption": caption, "context": self._context(dialogs, rounds, round_id - 1, where)},
                       [answer], {"choices": tuple(options), "relevance": relevance, "round_id": round_id})

    def _image(self, root: Path, split: str, image_id: Any, path: Path, where: str) -> FileImage:
        if isinstance(image_id, bool) or not isinstance(image_id, int):
            raise EvalkitError(f"{where}: image_id {image_id!r} is not a number", path=path, field="image_id")
        if split != "train":
            folder, name = VAL_IMAGES
            return FileImage(root / folder / name.format(image_id=image_id))
        candidates = [root / folder / name.format(image_id=image_id) for folder, name in COCO_IMAGES]
        return FileImage(next((c for c in candidates if c.is_file()), candidates[0]))

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        """m4's columns: image, caption, context (history and open question), answer, answer_options,
        relevance_scores (all zeros in the support splits)."""
        dataset = hf.open_split(location, split)
        ranked = split != self.hf_splits["support"]
        hf.require_columns(dataset, ["image", "caption", "context", "answer"]
                           + (["answer_options", "relevance_scores"] if ranked else []), location)
        examples = []
        for index, row in enumerate(hf.text_rows(dataset, "image")):
            fields = {"caption": str(row["caption"]), "context": str(row["context"]).rstrip(" ")}
            meta = {"choices": tuple(map(str, row["answer_options"])), "relevance": list(row["relevance_scores"])} \
                if ranked else {}
            examples.append(Example(index, hf.DatasetImage(dataset, index, "image", str(location)), fields,
                                    [str(row["answer"])], meta))
        return examples


def _dense_rounds(path: Path) -> dict[Any, dict]:
    """{image_id: {round_id, relevance}} from the dense annotations (`gt_relevance`, or `relevance` as
    some copies name it)."""
    records = read_json(path)
    if not isinstance(records, list):
        raise EvalkitError("expected a JSON list of {image_id, round_id, gt_relevance}", path=path)
    dense: dict[Any, dict] = {}
    for position, record in enumerate(records):
        where = f"record {position}"
        image_id = require(record, "image_id", path, where)
        if image_id in dense:
            raise EvalkitError(f"two dense annotations for image_id {image_id}", path=path, field="image_id")
        key = "gt_relevance" if isinstance(record, dict) and "relevance" not in record else "relevance"
        relevance = require(record, key, path, where)
        if not isinstance(relevance, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in relevance):
            raise EvalkitError(f"{where}: expected a list of numbers in [0, 1]", path=path, field=key)
        dense[image_id] = {"round_id": require(record, "round_id", path, where), "relevance": relevance}
    return dense
