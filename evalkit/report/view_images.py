"""The report's images: one thumbnail per distinct image, and a full-size copy for the click.

An image is named after its reference (examples.jsonl's "image": a file, or a Hugging Face dataset
row), so the same picture gets one thumbnail however many settings, seeds and runs show it, and a
second `evalkit view` into the same folder reuses the thumbnails already made (remade when the source
file is newer). Full-size copies are the source file itself where browsers display its format,
otherwise a PNG.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from PIL import Image

from evalkit.data.images import open_rgb, to_rgb
from evalkit.errors import EvalkitError

THUMB_SIDE = 160  # pixels, the longest side
THUMB_QUALITY = 80  # JPEG
BROWSER_FORMATS = (".jpg", ".jpeg", ".png", ".gif", ".webp")
THUMBS = "images/thumbs"
FULL = "images/full"


def image_name(reference: dict[str, Any], suffix: str) -> str:
    """The report's file name for an image: a digest of its reference, and the full copy's suffix."""
    digest = hashlib.sha256(json.dumps(reference, sort_keys=True).encode()).hexdigest()[:20]
    return digest + suffix


class ImageStore:
    """Thumbnails (images/thumbs/<digest>.jpg) and full copies (images/full/<digest><suffix>) in `out`."""

    def __init__(self, out: Path, full_images: bool, search_roots: Sequence[Path] = ()):
        self.out = out
        self.full_images = full_images
        self.search_roots = list(search_roots)
        self.names: dict[str, str | None] = {}  # reference (as JSON) -> name, None when unreadable
        self.missing: dict[str, str] = {}  # reference (as text) -> why it is not shown
        self.made = 0
        self._datasets: dict[tuple[str, str], Any] = {}
        for folder in (THUMBS, FULL):
            (out / folder).mkdir(parents=True, exist_ok=True)

    def add(self, reference: dict[str, Any] | None) -> str | None:
        """The image's name in the report (its thumbnail made if needed), or None when it cannot be read."""
        if not reference:
            return None
        key = json.dumps(reference, sort_keys=True)
        if key not in self.names:
            try:
                self.names[key] = self._store(reference)
            except EvalkitError as error:
                self.names[key] = None
                self.missing[_describe(reference)] = error.one_line()
        return self.names[key]

    def _store(self, reference: dict[str, Any]) -> str:
        if "file" in reference:
            return self._store_file(self._resolve(reference["file"]), reference)
        if "dataset" in reference:
            image = self._dataset_image(reference)
            name = image_name(reference, ".png")
            if not (self.out / THUMBS / _thumb(name)).is_file():
                self._write_thumbnail(image, name)
            if self.full_images and not (self.out / FULL / name).is_file():
                image.save(self.out / FULL / name)
            return name
        raise EvalkitError(f"no file or dataset row recorded ({reference.get('key', reference)})")

    def _store_file(self, path: Path, reference: dict[str, Any]) -> str:
        suffix = path.suffix.lower() if path.suffix.lower() in BROWSER_FORMATS else ".png"
        name = image_name(reference, suffix)
        if _stale(self.out / THUMBS / _thumb(name), path):
            self._write_thumbnail(open_small(path), name)
        full = self.out / FULL / name
        if self.full_images and _stale(full, path):
            if suffix == path.suffix.lower():
                shutil.copyfile(path, full)
            else:
                open_rgb(path).save(full)
        return name

    def _write_thumbnail(self, image: Image.Image, name: str) -> None:
        image = image.copy()
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        image.save(self.out / THUMBS / _thumb(name), quality=THUMB_QUALITY)
        self.made += 1

    def _resolve(self, recorded: str) -> Path:
        """An absolute path as it is; a relative one (hand-made or older runs) from the working folder,
        else from the run folders and the folders above them."""
        path = Path(recorded)
        candidates = [path] if path.is_absolute() else [path, *(root / path for root in self.search_roots)]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise EvalkitError("image file not found", path=recorded)

    def _dataset_image(self, reference: dict[str, Any]) -> Image.Image:
        from evalkit.data.hf import open_split

        source, split = str(reference["dataset"]), str(reference["split"])
        if (source, split) not in self._datasets:
            self._datasets[(source, split)] = open_split(source, split)
        dataset, row, column = self._datasets[(source, split)], int(reference["row"]), reference.get("column", "image")
        if not 0 <= row < len(dataset) or column not in dataset.column_names:
            raise EvalkitError(f"split {split} has no row {row} with column {column!r}", path=source)
        value = dataset[row][column]
        if not isinstance(value, Image.Image):
            raise EvalkitError(f"row {row} holds no image", path=source, field=column)
        return to_rgb(value)


def _thumb(name: str) -> str:
    return Path(name).stem + ".jpg"


def _stale(made: Path, source: Path) -> bool:
    """Missing, or older than the file it was made from."""
    return not made.is_file() or made.stat().st_mtime < source.stat().st_mtime


def open_small(path: Path) -> Image.Image:
    """The image decoded at about twice the thumbnail size where the format allows (JPEG): a 640 px
    COCO photo decodes in a quarter of the time."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (2 * THUMB_SIDE, 2 * THUMB_SIDE))
            image.load()
            return to_rgb(image)
    except Exception:  # noqa: BLE001 - open_rgb turns any failure into the one-line error
        return open_rgb(path)


def _describe(reference: dict[str, Any]) -> str:
    if "file" in reference:
        return str(reference["file"])
    if "dataset" in reference:
        return f"{reference['dataset']} [{reference.get('split')} row {reference.get('row')}]"
    return json.dumps(reference)


def folder_size(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(os.path.getsize(Path(root) / name) for root, _, names in os.walk(folder) for name in names)
