"""Captioning data: Karpathy split files (COCO, Flickr30k), NoCaps, and COCO-format reference files.

The Karpathy file alone is enough to score: references are its sentences' `raw` text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data.files import (check_id, find_file, read_json, require, require_list, require_text, safe_file_name,
                                text_value)
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage


def _caption_example(image_id: Any, image: FileImage, captions: list[str], meta: dict) -> Example:
    return Example(id=image_id, image=image, fields={}, references=captions, meta=meta)


@dataclass(frozen=True)
class KarpathyFiles(FilesOrHF):
    """`dataset_coco.json` / `dataset_flickr30k.json`; roles map to Karpathy splits (support: train,
    restval excluded; queries: test)."""

    file: str = "dataset_coco.json"
    image_folder: str = ""  # "" -> each record's `filepath` (COCO); Flickr30k: "flickr30k-images"
    id_from: str = "cocoid"  # or "filename" (the file name's stem, as Flickr30k results use)
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "test"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "test"})

    def describe(self) -> str:
        return f"Karpathy file {self.file} (support train, queries test), images under the same folder"

    def _image_id(self, record: dict, path: Path, where: str) -> Any:
        if self.id_from == "filename":
            name = str(require(record, "filename", path, where))
            stem = name.rsplit(".", 1)[0]
            return int(stem) if stem.isdigit() else stem
        return require(record, self.id_from, path, where)

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, self.file)
        records = require_list(read_json(path), "images", path)
        examples, seen = [], set()
        for position, record in enumerate(records):
            where = f"image {position}"
            if require(record, "split", path, where) != split:
                continue
            image_id = check_id(self._image_id(record, path, where), path, self.id_from, where)
            if image_id in seen:
                raise EvalkitError(f"duplicate image {image_id}", path=path, field=self.id_from)
            seen.add(image_id)
            folder = self.image_folder or safe_file_name(require(record, "filepath", path, where), path, "filepath")
            name = safe_file_name(require(record, "filename", path, where), path, "filename")
            captions = [require_text(s, "raw", path, where) for s in require(record, "sentences", path, where)]
            if not captions:
                raise EvalkitError(f"{where} has no sentences", path=path, field="sentences")
            examples.append(_caption_example(image_id, FileImage(root / folder / name), captions, {}))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        raise EvalkitError("captioning reads the Karpathy JSON file and image folders; HF copies of the "
                           "Karpathy split carry no images", path=location)


NOCAPS_IMAGE_FOLDERS = ("validation", "val", "images", "")


@dataclass(frozen=True)
class NoCapsFiles(FilesOrHF):
    """`nocaps_val_4500_captions.json` (COCO style, with each image's domain); shots come from COCO
    Karpathy train, found with `--data-dir nocaps:support=DIR` or in a sibling `coco/` folder."""

    file: str = "nocaps_{split}_4500_captions.json"
    support: KarpathyFiles = field(default_factory=KarpathyFiles)
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return ("file nocaps_val_4500_captions.json, images in validation/; support: COCO Karpathy train "
                "(--data-dir nocaps:support=DIR, or a sibling coco/ folder)")

    def load(self, location: str | Path, role: str, split: str | None = None,
             skips: Skips | None = None) -> list[Example]:
        if role != "support":
            return super().load(location, role, split, skips)
        root = Path(location)
        for candidate in (root, root.parent / "coco"):
            if (candidate / self.support.file).is_file():
                return self.support.load(candidate, "support", split, skips)
        raise EvalkitError(f"NoCaps takes its shots from COCO Karpathy train: no {self.support.file} here or "
                           "in ../coco; pass --data-dir nocaps:support=COCO_DIR", path=root)

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, self.file.format(split=split))
        document = read_json(path)
        captions: dict[Any, list[str]] = {}
        for position, annotation in enumerate(require_list(document, "annotations", path)):
            image_id = check_id(require(annotation, "image_id", path, f"annotation {position}"), path, "image_id",
                                f"annotation {position}")
            captions.setdefault(image_id, []).append(require_text(annotation, "caption", path, f"annotation {position}"))
        folder = next((root / sub for sub in NOCAPS_IMAGE_FOLDERS if sub and (root / sub).is_dir()), root)
        examples = []
        for position, image in enumerate(require_list(document, "images", path)):
            where = f"image {position}"
            image_id = check_id(require(image, "id", path, where), path, "id", where)
            if image_id not in captions:
                raise EvalkitError(f"{where} (id {image_id}) has no captions", path=path, field="annotations")
            name = safe_file_name(require(image, "file_name", path, where), path, "file_name")
            examples.append(_caption_example(image_id, FileImage(folder / name), captions[image_id],
                                             {"domain": image.get("domain", "")}))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        raise EvalkitError("NoCaps is read from its official JSON file and image folder", path=location)


def read_coco_references(path: Path) -> list[Example]:
    """A COCO-format captions file (`images` + `annotations[{image_id, caption}]`) as examples to score
    against; no images are needed."""
    document = read_json(path)
    captions: dict[Any, list[str]] = {}
    for position, annotation in enumerate(require_list(document, "annotations", path)):
        where = f"annotation {position}"
        image_id = check_id(require(annotation, "image_id", path, where), path, "image_id", where)
        captions.setdefault(image_id, []).append(require_text(annotation, "caption", path, where))
    return [_caption_example(image_id, FileImage(path), texts, {}) for image_id, texts in sorted(captions.items())]


@dataclass(frozen=True)
class TextCapsFiles(FilesOrHF):
    """TextCaps 0.1: `TextCaps_0.1_{split}.json`, `data[]` with one entry per caption (`caption_str`,
    and `reference_strs` holding all of the image's captions); images in `train_images/` (as TextVQA)."""

    file: str = "TextCaps_0.1_{split}.json"
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "val"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "validation"})

    def describe(self) -> str:
        return "file TextCaps_0.1_{split}.json, images train_images/{image_id}.jpg (support train, queries val)"

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, self.file.format(split=split))
        captions: dict[str, list[str]] = {}
        for position, record in enumerate(require_list(read_json(path), "data", path)):
            where = f"record {position}"
            image_id = safe_file_name(require(record, "image_id", path, where), path, "image_id")
            references = record.get("reference_strs")
            if references:
                captions[image_id] = [text_value(text, path, "reference_strs", where) for text in references]
            else:
                captions.setdefault(image_id, []).append(require_text(record, "caption_str", path, where))
        folder = root / ("test_images" if split == "test" else "train_images")
        return [_caption_example(image_id, FileImage(folder / f"{image_id}.jpg"), texts, {})
                for image_id, texts in captions.items()]

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        raise EvalkitError("TextCaps is read from its official JSON file and image folder", path=location)
