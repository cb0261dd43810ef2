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
from evalkit.data.files import (check_id, check_id_kinds, find_file, read_csv, read_json, read_jsonl, require,
                                require_text)
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
            if type(label) is not int or label not in (0, 1):  # 1.0 and true are not labels
                raise EvalkitError(f"{where}: label must be 0 or 1, not {json.dumps(label)}", path=path, field="label")
            image = FileImage(safe_relative_path(root, require(record, "img", path, where), path, "img"))
            examples.append(Example(id=check_id(require(record, "id", path, where), path, "id", where), image=image,
                                    fields={"text": require_text(record, "text", path, where)},
                                    references=[self.classes[label]], meta={"choices": self.classes}))
        check_id_kinds([example.id for example in examples], path, "id")
        return examples


def imagenet_class_names() -> list[str]:
    """The 1,000 CLIP-style class names in class-index order (998 distinct)."""
    text = resources.files("evalkit").joinpath("resources/imagenet_classnames.json").read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class ImageNetFolders(FilesOrHF):
    """`{split}/{wnid}/*.JPEG`. A class is known by its folder's name, the same in every split: its
    index is its place among the support split's (train's) sorted folder names, the ImageNet
    convention, or the name itself for numbered folders (ImageNetV2's `0`..`999`). A `classnames.json`
    beside the split folders replaces the 1,000 CLIP-style names (subsets, synthetic copies): a list
    in class-index order, or an object {folder name: class name}."""

    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return ("folders train/{wnid}/*.JPEG and val/{wnid}/*.JPEG (class index = place among train's sorted "
                "wnids; numbered folders by their number); or ILSVRC/imagenet-1k")

    def _names(self, root: Path) -> list[str] | dict[str, str]:
        custom = root / "classnames.json"
        if not custom.is_file():
            return imagenet_class_names()
        names = read_json(custom)
        values = names.values() if isinstance(names, dict) else names if isinstance(names, list) else None
        if values is None or not all(isinstance(name, str) for name in values):
            raise EvalkitError("expected a list of class names (in class-index order) or an object "
                               "{class folder: class name}", path=custom)
        return names

    def _class_names(self, root: Path, split: str, folders: list[str]) -> tuple[dict[str, str], tuple[str, ...]]:
        """Each class folder's name -> its class name, and every class name (the choices to rank)."""
        names = self._names(root)
        if isinstance(names, dict):
            unnamed = [folder for folder in folders if folder not in names]
            if unnamed:
                raise EvalkitError(f"class folder {split}/{unnamed[0]} has no name in classnames.json",
                                   path=root / "classnames.json")
            return {folder: names[folder] for folder in folders}, tuple(names.values())
        indices = self._class_indices(root, split, folders, len(names))
        return {folder: names[indices[folder]] for folder in folders}, tuple(names)

    def _class_indices(self, root: Path, split: str, folders: list[str], count: int) -> dict[str, int]:
        if folders and all(folder.isdigit() for folder in folders):
            outside = [folder for folder in folders if int(folder) >= count]
            if outside:
                raise EvalkitError(f"numbered class folder {outside[0]} but only {count} class names",
                                   path=root / split / outside[0])
            return {folder: int(folder) for folder in folders}
        reference = root / self.splits["support"]
        ordered = _class_folders(reference) if reference.is_dir() else sorted(folders)
        if len(ordered) != count:
            raise EvalkitError(f"{len(ordered)} class folders but {count} class names",
                               path=reference if reference.is_dir() else root / split)
        index = {folder: position for position, folder in enumerate(ordered)}
        strangers = [folder for folder in folders if folder not in index]
        if strangers:
            raise EvalkitError(f"class {strangers[0]} is not one of the {count} classes of {reference.name}/ "
                               "(labels follow the class folder's name)", path=root / split / strangers[0])
        return index

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        folder = root / split
        if not folder.is_dir():
            raise EvalkitError(f"no {split}/ folder of class sub-folders", path=root)
        folders = _class_folders(folder)
        labels, choices = self._class_names(root, split, folders)
        examples = []
        for wnid in folders:
            for image in sorted((folder / wnid).iterdir()):
                if image.suffix.lower() in IMAGE_SUFFIXES:
                    examples.append(Example(id=f"{wnid}/{image.name}", image=FileImage(image), fields={},
                                            references=[labels[wnid]], meta={"choices": choices}))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset = hf.open_split(location, split)
        hf.require_columns(dataset, ["image", "label"], location)
        names = imagenet_class_names()
        choices = tuple(names)
        examples = []
        for index, row in enumerate(hf.text_rows(dataset, "image")):
            label = row["label"]
            if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(names):
                raise EvalkitError(f"row {index}: label {label!r} is not a class index 0-{len(names) - 1}",
                                   path=location, field="label")
            examples.append(Example(id=index, image=hf.DatasetImage(dataset, index, "image", str(location)),
                                    fields={}, references=[names[label]], meta={"choices": choices}))
        return examples


def _class_folders(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.is_dir())


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
