"""ScienceQA: multiple-choice science questions; only those with an image are read (the IDEFICS card's
"acc." is on test-IMG, 2,017 questions; support from train-IMG, 6,218).

Official files (lupantech/ScienceQA): `problems.json` = {pid: {question, choices, answer (index), hint,
image ("image.png" or null), subject, grade, solution, ...}}, `pid_splits.json` = {split: [pid]}, images
at `{split}/{pid}/{image}` (also under `images/`). HF copies (`derek-thomas/ScienceQA`,
`lmms-lab/ScienceQA`): the same fields as columns, `image` None where the question has none.

Each question's choices become letters (A, B, ...; 2 to 5 of them): `meta["choices"]` holds the
question's own letters, `meta["choices_a_to_e"]` all five as m4 ranked them. The plugin gives the
wording of the hint line and of a choice line; breakdown keys: subject, grade band and context.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data import hf
from evalkit.data.files import find_file, read_json, require
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage, ImageSource

LETTERS = tuple(string.ascii_uppercase[:5])
FIELDS = ("question", "choices", "answer", "hint", "subject", "grade", "solution")
FILE_FOLDERS = ("data/scienceqa", "scienceqa")


def grade_band(grade: str) -> str:
    """'grade3' -> 'grades 1-6'; 'grade10' -> 'grades 7-12' (the official scorer's two bands)."""
    digits = "".join(char for char in str(grade) if char.isdigit())
    return "grades 1-6" if digits and int(digits) <= 6 else "grades 7-12"


@dataclass(frozen=True)
class ScienceQAFiles(FilesOrHF):
    hint_line: str = "Context: {hint}\n"  # shown only when the hint is not empty
    choice_line: str = "{letter} - {choice}\n"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "test"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "test"})

    def describe(self) -> str:
        return ("files problems.json + pid_splits.json, images {split}/{pid}/image.png (questions with an image: "
                "support train, queries test); or a HF copy (derek-thomas/ScienceQA)")

    def example(self, key: Any, problem: dict, image: ImageSource, path: Path | str) -> Example:
        """One question as an example; `problem` holds the official fields."""
        where = f"problem {key}"
        values = {name: require(problem, name, Path(str(path)), where) for name in FIELDS}
        choices = values["choices"]
        if not isinstance(choices, list) or not 2 <= len(choices) <= len(LETTERS):
            raise EvalkitError(f"{where}: expected 2 to 5 choices", path=path, field="choices")
        answer = values["answer"]
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise EvalkitError(f"{where}: answer {answer!r} is not a choice index", path=path, field="answer")
        hint = str(values["hint"] or "").strip()
        letters = LETTERS[:len(choices)]
        fields = {
            "question": str(values["question"]),
            "hint_line": self.hint_line.format(hint=hint) if hint else "",
            "choice_lines": "".join(self.choice_line.format(letter=letter, choice=choice)
                                    for letter, choice in zip(letters, choices)),
            "solution": str(values["solution"] or "").strip(),
        }
        meta = {"choices": letters, "choices_a_to_e": LETTERS, "subject": str(values["subject"]),
                "grade": str(values["grade"]), "grade_band": grade_band(values["grade"]),
                "context": "text and image" if hint else "image only"}
        return Example(key, image, fields, [letters[answer]], meta)

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        problems_path = find_file(root, "problems.json", FILE_FOLDERS)
        splits_path = find_file(problems_path.parent, "pid_splits.json")
        problems, pid_splits = read_json(problems_path), read_json(splits_path)
        if not isinstance(problems, dict):
            raise EvalkitError("expected an object {pid: problem}", path=problems_path)
        pids = require(pid_splits, split, splits_path, "the file")
        if not isinstance(pids, list):
            raise EvalkitError("expected a list of pids", path=splits_path, field=split)
        missing = [pid for pid in pids if str(pid) not in problems]
        if missing:
            raise EvalkitError(f"{len(missing)} pid(s) of split {split} are not in problems.json, e.g. "
                               f"{missing[0]!r}", path=splits_path, field=split)
        folder = self._image_folder(problems_path.parent, root, split)
        examples = []
        for pid in map(str, pids):
            problem = problems[pid]
            image = require(problem, "image", problems_path, f"problem {pid}")
            if image:
                examples.append(self.example(pid, problem, FileImage(folder / pid / str(image)), problems_path))
        return examples

    @staticmethod
    def _image_folder(files: Path, root: Path, split: str) -> Path:
        """`{split}/` beside problems.json or the data folder, or under their `images/`."""
        candidates = [base / sub / split for base in (files, root) for sub in ("", "images")]
        return next((folder for folder in candidates if folder.is_dir()), candidates[0])

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        import datasets

        dataset = hf.open_split(location, split)
        hf.require_columns(dataset, ["image", *FIELDS], location)
        undecoded = dataset.select_columns(["image"]).cast_column("image", datasets.Image(decode=False))
        with_image = [index for index, value in enumerate(undecoded["image"]) if value]
        rows = hf.text_rows(dataset, "image")
        return [self.example(index, rows[index], hf.DatasetImage(dataset, index, "image", str(location)), location)
                for index in with_image]
