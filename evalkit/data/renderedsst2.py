"""Rendered SST-2 (CLIP's OCR test): SST-2 sentences rendered as images, classed negative or positive.

Official archive (rendered-sst2.tgz, as torchvision reads it): `{train,valid,test}/{negative,positive}/*.png`
(6,920 / 872 / 1,821 images). HF copy `nateraw/rendered-sst2`: columns image, label (0 negative,
1 positive), splits train / validation / test. Support train, queries test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalkit.data import hf
from evalkit.data.skips import Skips
from evalkit.data.source import FilesOrHF
from evalkit.errors import EvalkitError
from evalkit.types import Example, FileImage

CLASSES = ("negative", "positive")  # the HF label order, and the folder names
FOLDERS = ("", "rendered-sst2")


@dataclass(frozen=True)
class RenderedSST2Folders(FilesOrHF):
    splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "test"})
    hf_splits: dict[str, str] = field(default_factory=lambda: {"support": "train", "query": "test"})

    def describe(self) -> str:
        return ("folders {train,valid,test}/{negative,positive}/*.png (support train, queries test); "
                "or a HF copy (nateraw/rendered-sst2)")

    def _from_files(self, root: Path, split: str, skips: Skips) -> list[Example]:
        folders = [root / sub / split if sub else root / split for sub in FOLDERS]
        split_folder = next((folder for folder in folders if folder.is_dir()), None)
        if split_folder is None:
            raise EvalkitError(f"no {split}/ folder with negative/ and positive/ inside", path=root)
        images = []
        for name in CLASSES:
            class_folder = split_folder / name
            if not class_folder.is_dir():
                raise EvalkitError(f"no {name}/ class folder", path=split_folder)
            images += [(name, image) for image in sorted(class_folder.iterdir()) if image.suffix.lower() == ".png"]
        # Ids are the file names when the two classes never share one (so id order mixes the classes),
        # else class/file name.
        unique = len({image.name for _, image in images}) == len(images)
        return [Example(image.name if unique else f"{name}/{image.name}", FileImage(image), {}, [name],
                        {"choices": CLASSES}) for name, image in images]

    def _from_hf(self, location: str | Path, split: str) -> list[Example]:
        dataset = hf.open_split(location, split)
        hf.require_columns(dataset, ["image", "label"], location)
        examples = []
        for index, row in enumerate(hf.text_rows(dataset, "image")):
            if row["label"] not in (0, 1):
                raise EvalkitError(f"row {index}: label must be 0 (negative) or 1 (positive)", path=location,
                                   field="label")
            examples.append(Example(index, hf.DatasetImage(dataset, index, "image", str(location)), {},
                                    [CLASSES[row["label"]]], {"choices": CLASSES}))
        return examples
