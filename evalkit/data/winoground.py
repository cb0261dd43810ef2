"""Winoground: 400 examples of two images and two captions with the same words in another order;
caption j matches image j. Zero-shot only: there is no support split.

Official files (facebook/winoground): `data/examples.jsonl` lines `{id, image_0, image_1, caption_0,
caption_1, tag, secondary_tag, num_main_preds, collapsed_tag}` where `image_j` is a file stem
(`ex_0_img_0`); images in `data/images.zip`, or unzipped into `data/images/` (any of .png, .jpg,
.jpeg: the archive's extension is read, not assumed). HF copy: the same columns with decoded images,
split test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data import hf
from evalkit.data.archive import ZipMemberImage, members_by_stem
from evalkit.data.files import find_file, read_jsonl, require, safe_file_name
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage, ImageSource

TEXT_COLUMNS = ("id", "caption_0", "caption_1", "tag", "secondary_tag", "num_main_preds", "collapsed_tag")
SUFFIXES = (".png", ".jpg", ".jpeg")


def winoground_example(record: dict, images: tuple[ImageSource, ImageSource], path: Path | str) -> Example:
    where = f"example {record.get('id')!r}"
    captions = [str(require(record, f"caption_{j}", Path(str(path)), where)) for j in (0, 1)]
    if captions[0] == captions[1]:
        raise EvalkitError(f"{where}: its two captions are the same text", path=path, field="caption_1")
    meta = {key: record.get(key) for key in ("tag", "secondary_tag", "num_main_preds", "collapsed_tag")}
    return Example(require(record, "id", Path(str(path)), where), images[0], {}, captions,
                   {"choices": tuple(captions), **meta}, images=images)


class _ImageFinder:
    """Image files by stem, from `images/` beside examples.jsonl or from `images.zip`."""

    def __init__(self, folder: Path):
        self.folder = folder / "images"
        self.archive = folder / "images.zip"
        self.members = members_by_stem(self.archive) if not self.folder.is_dir() and self.archive.is_file() else None
        if self.members is None and not self.folder.is_dir():
            raise EvalkitError("no images/ folder or images.zip beside examples.jsonl", path=folder)

    def image(self, stem: str, path: Path, field_name: str) -> ImageSource:
        if self.members is not None:
            if stem not in self.members:
                raise EvalkitError(f"image {stem!r} is not in the archive", path=self.archive, field=field_name)
            return ZipMemberImage(self.archive, self.members[stem])
        for suffix in SUFFIXES:
            if (self.folder / f"{stem}{suffix}").is_file():
                return FileImage(self.folder / f"{stem}{suffix}")
        raise EvalkitError(f"no image file {stem}.png/.jpg", path=self.folder, field=field_name)


@dataclass(frozen=True)
class WinogroundFiles(FilesOrHF):
    splits: dict[str, str] = field(default_factory=lambda: {"query": "test"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"query": "test"})

    def describe(self) -> str:
        return "files data/examples.jsonl + data/images.zip (or data/images/); or facebook/winoground (test)"

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        path = find_file(root, "examples.jsonl", ("data",))
        finder = _ImageFinder(path.parent)
        examples = []
        for number, record in read_jsonl(path):
            where = f"line {number}"
            stems = [safe_file_name(require(record, f"image_{j}", path, where), path, f"image_{j}") for j in (0, 1)]
            images = (finder.image(stems[0], path, "image_0"), finder.image(stems[1], path, "image_1"))
            examples.append(winoground_example(record, images, path))
        return examples

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset = hf.open_split(location, split)
        hf.require_columns(dataset, ["image_0", "image_1", *TEXT_COLUMNS[:3]], location)
        rows: list[dict[str, Any]] = dataset.select_columns(
            [c for c in TEXT_COLUMNS if c in dataset.column_names]).to_list()
        return [winoground_example(row, (hf.DatasetImage(dataset, index, "image_0", str(location)),
                                         hf.DatasetImage(dataset, index, "image_1", str(location))), location)
                for index, row in enumerate(rows)]
