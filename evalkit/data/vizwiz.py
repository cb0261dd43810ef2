"""VizWiz-VQA: `Annotations/{split}.json` (a list, no question ids: the image file name is the id);
OpenFlamingo's conversion to the VQA format (`{split}_questions_vqa_format.json` + annotations, the
image file name as `image_id`); or a HF copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.data.files import find_file, read_json, require, require_text, safe_file_name
from evalkit.data.vqa import OPENFLAMINGO_QUESTIONS, answer_fields, openflamingo_files, read_vqa_format
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

HF_COLUMNS = hf.HFColumns(id="question_id", fields={"question": "question"})


def _example(image_name: str, image, question: str, answers, record: dict, path, where: str) -> Example:
    # VizWiz numbers no answers: OpenFlamingo's leave-one-out drops answers equal in text and
    # confidence together (a copy with plain-text answers has no confidences: see metrics.vqa).
    texts, records = answer_fields(answers, path, where, numbered=False)
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
                f"(support train, queries val); or OpenFlamingo's {OPENFLAMINGO_QUESTIONS} + annotations; "
                "or a HF dataset (lmms-lab/VizWiz-VQA)")

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        official = [folder / self.annotations.format(split=split) for folder in (root, root / "Annotations",
                                                                                root / "annotations")]
        converted = None if any(path.is_file() for path in official) else openflamingo_files(root, split)
        if converted is not None:
            return self._from_openflamingo(root, split, *converted, skips)
        path = find_file(root, self.annotations.format(split=split), ("Annotations", "annotations"),
                         also=f"nor OpenFlamingo's {OPENFLAMINGO_QUESTIONS.format(split=split)}")
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
                                     require_text(record, "question", path, where), answers, record, path, where))
        return examples

    def _from_openflamingo(self, root: Path, split: str, questions: Path, annotations: Path | None,
                           skips: Skips) -> list[Example]:
        """Keyed by the image file name (OpenFlamingo's `image_id`), as the official files and EvalAI are."""
        examples, seen = [], set()
        for pair in read_vqa_format(questions, annotations, skips):
            image_name = safe_file_name(require(pair.question, "image_id", questions, pair.where), questions,
                                        "image_id")
            if image_name in seen:
                raise EvalkitError(f"duplicate image_id {image_name}", path=questions, field="image_id")
            seen.add(image_name)
            examples.append(_example(image_name, FileImage(root / split / image_name),
                                     require_text(pair.question, "question", questions, pair.where),
                                     pair.answers(), pair.annotation or {}, annotations or questions, pair.where))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset, rows = hf.rows_with_images(location, split, HF_COLUMNS)
        return [
            _example(str(row["question_id"]), hf.DatasetImage(dataset, index, "image", str(location)),
                     hf.row_text(row, "question", location, index), row["answers"], row, location, f"row {index}")
            for index, row in enumerate(rows)]
