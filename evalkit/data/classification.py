"""Classification data: Hateful Memes (jsonl), ImageNet-1k (class folders or a HF copy), FairFace (CSV).

Each example's `references[0]` is its class name and `meta["choices"]` the class names to rank.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

from evalkit.data import hf
from evalkit.data.files import find_file, read_csv, read_json, read_jsonl, require
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def safe_relative_path(root: Path, value: object, path: Path, field_name: str) -> Path:
    """`root / value` for a relative path from an annotation file; refused if it leaves `root`."""
    relative = Path(str(value))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise EvalkitError(f"unsafe image path {value!r}", path=path, field=field_name)
    return root / relative


@dataclass(frozen=True)
class HatefulMemesFiles(FilesOrHF):
    """`{split}.jsonl` lines `{id, img, label, text}`, images at `img` (e.g. img/01547.png)."""

    classes: tuple[str, str] = ("no", "yes")
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "dev_seen"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return "files {train,dev_seen,test_seen}.jsonl with img/ (support train, queries dev_seen)"

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, f"{split}.jsonl")
        examples = []
        for number, record in read_jsonl(path):
            where = f"line {number}"
            label = require(record, "label", path, where)
            if label not in (0, 1):
                raise EvalkitError(f"{where}: label must be 0 or 1", path=path, field="label")
            image = FileImage(safe_relative_path(root, require(record, "img", path, where), path, "img"))
            examples.append(Example(id=require(record, "id", path, where), image=image,
                                    fields={"text": str(require(record, "text", path, where))},
                                    references=[self.classes[label]], meta={"choices": self.classes}))
        return examples


def imagenet_class_names() -> list[str]:
    """The 1,000 CLIP-style class names in class-index order (998 distinct)."""
    text = resources.files("evalkit").joinpath("resources/imagenet_classnames.json").read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class ImageNetFolders(FilesOrHF):
    """`{split}/{wnid}/*.JPEG`; class index = sorted wnid order. A `classnames.json` list beside the
    split folders replaces the 1,000 CLIP-style names (for subsets and synthetic copies)."""

    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return "folders train/{wnid}/*.JPEG and val/{wnid}/*.JPEG (class index = sorted wnid); or ILSVRC/imagenet-1k"

    def _names(self, root: Path) -> list[str]:
        custom = root / "classnames.json"
        return list(read_json(custom)) if custom.is_file() else imagenet_class_names()

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        folder = root / split
        if not folder.is_dir():
            raise EvalkitError(f"no {split}/ folder of class sub-folders", path=root)
        wnids = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
        names = self._names(root)
        if len(wnids) != len(names):
            raise EvalkitError(f"{len(wnids)} class folders but {len(names)} class names", path=folder)
        choices = tuple(names)
        examples = []
        for wnid, name in zip(wnids, names):
            for image in sorted((folder / wnid).iterdir()):
                if image.suffix.lower() in IMAGE_SUFFIXES:
                    examples.append(Example(id=f"{wnid}/{image.name}", image=FileImage(image), fields={},
                                            references=[name], meta={"choices": choices}))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset = hf.open_split(location, split)
        hf.require_columns(dataset, ["image", "label"], location)
        names = imagenet_class_names()
        choices = tuple(names)
        return [Example(id=index, image=hf.DatasetImage(dataset, index, "image", str(location)), fields={},
                        references=[names[row["label"]]], meta={"choices": choices})
                for index, row in enumerate(hf.text_rows(dataset, "image"))]


FAIRFACE_AGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70")
FAIRFACE_GENDERS = ("Male", "Female")
FAIRFACE_RACES = ("East Asian", "Indian", "Black", "White", "Middle Eastern", "Latino_Hispanic", "Southeast Asian")


def age_phrase(label: str) -> str:
    return f"{label} years old" if label.startswith("more") else "between {} and {} years old".format(*label.split("-"))


FAIRFACE_ATTRIBUTES: dict[str, tuple[tuple[str, ...], Callable[[str], str]]] = {
    "gender": (FAIRFACE_GENDERS, str.lower),
    "race": (FAIRFACE_RACES, lambda label: label.replace("_", "/")),
    "age": (FAIRFACE_AGES, age_phrase),
}


@dataclass(frozen=True)
class FairFaceFiles(FilesOrHF):
    """`fairface_label_{split}.csv` (`file,age,gender,race,service_test`), images at `file`; one
    attribute (gender, race or age) is the class."""

    attribute: str = "gender"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return f"fairface_label_{{train,val}}.csv and image folders; class = {self.attribute}"

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, f"fairface_label_{split}.csv")
        labels, phrase = FAIRFACE_ATTRIBUTES[self.attribute]
        choices = tuple(phrase(label) for label in labels)
        examples = []
        for number, row in read_csv(path, ("file", "age", "gender", "race")):
            if row[self.attribute] not in labels:
                raise EvalkitError(f"line {number}: unknown {self.attribute} {row[self.attribute]!r}",
                                   path=path, field=self.attribute)
            examples.append(Example(
                id=row["file"], image=FileImage(safe_relative_path(root, row["file"], path, "file")), fields={},
                references=[phrase(row[self.attribute])],
                meta={"choices": choices, "race": row["race"], "gender": row["gender"], "age": row["age"]}))
        return examples
