"""Hugging Face datasets as a data source: a hub id, a `save_to_disk` folder, or parquet files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from evalkit.data.files import check_id, text_value
from evalkit.data.images import to_rgb
from evalkit.errors import EvalkitError

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_PARQUET_SPLIT = re.compile(r"^(?P<split>[A-Za-z_]+?)(?:[-_]\d+(?:-of-\d+)?)?\.parquet$")


@dataclass(frozen=True)
class DatasetImage:
    """The image of one row of a Hugging Face dataset, decoded on demand."""

    dataset: Any
    index: int
    column: str
    source: str

    @property
    def key(self) -> str:
        """Unique per image: a row with several image columns (Winoground) names the column."""
        column = "" if self.column == "image" else f":{self.column}"
        return f"hf:{self.source}:{self.dataset.split}:{self.index}{column}"

    @property
    def content(self) -> str:
        """The key and the dataset's fingerprint (which changes with its data)."""
        return f"{self.key}:{getattr(self.dataset, '_fingerprint', '')}"

    def load(self) -> Image.Image:
        value = self.dataset[self.index][self.column]
        if not isinstance(value, Image.Image):
            raise EvalkitError(f"row {self.index} holds no decodable image", path=self.source, field=self.column)
        return to_rgb(value)


def _parquet_files(folder: Path) -> list[Path]:
    """Parquet files in the folder or one level down (`data/`, per-split folders), without walking a
    large image tree."""
    return sorted([*folder.glob("*.parquet"), *folder.glob("*/*.parquet")])


def looks_like_hf(location: str | Path) -> bool:
    """True when the location is a HF dataset rather than an official-layout folder."""
    path = Path(location)
    if path.is_dir():
        return (path / "dataset_dict.json").is_file() or bool(_parquet_files(path))
    return bool(_HUB_ID.match(str(location))) and not path.exists()


def _parquet_files_by_split(folder: Path) -> dict[str, list[str]]:
    by_split: dict[str, list[str]] = {}
    for file in _parquet_files(folder):
        match = _PARQUET_SPLIT.match(file.name)
        split = match.group("split") if match else file.parent.name
        if file.parent != folder and not match:
            split = file.parent.name
        by_split.setdefault(split, []).append(str(file))
    return by_split


def open_split(location: str | Path, split: str) -> Any:
    """One split of a HF dataset as a `datasets.Dataset`."""
    import datasets

    path = Path(location)
    try:
        if (path / "dataset_dict.json").is_file():
            splits = datasets.load_from_disk(str(path))
        elif path.is_dir():
            splits = datasets.load_dataset("parquet", data_files=_parquet_files_by_split(path))
        else:
            splits = datasets.load_dataset(str(location))
    except EvalkitError:
        raise
    except Exception as error:  # datasets raises many types; the user needs the one line
        raise EvalkitError(f"cannot open Hugging Face dataset: {type(error).__name__}: {error}", path=location) from None
    if split not in splits:
        raise EvalkitError(f"no split {split!r} (has: {', '.join(splits)})", path=location)
    chosen = splits[split]
    if chosen.split is None:
        # load_from_disk leaves splits unnamed, and an image's key names its split: unnamed, row i of
        # train and row i of validation would be one image to the vision cache and the RICES cache.
        chosen = datasets.Dataset(chosen.data, info=chosen.info, split=datasets.NamedSplit(split))
    return chosen


def text_rows(dataset: Any, image_column: str) -> list[dict]:
    """All rows without decoding their images (fast)."""
    columns = [name for name in dataset.column_names if name != image_column]
    return dataset.select_columns(columns).to_list()


def require_columns(dataset: Any, columns: list[str], location: str | Path) -> None:
    missing = [name for name in columns if name not in dataset.column_names]
    if missing:
        raise EvalkitError(
            f"dataset split {dataset.split} lacks column(s) (has: {', '.join(dataset.column_names)})",
            path=location,
            field=", ".join(missing),
        )


@dataclass(frozen=True)
class HFColumns:
    """Where a HF copy keeps each part of an example."""

    id: str
    fields: dict[str, str]  # example field -> column
    answers: str | None = "answers"
    image: str = "image"


def rows_with_images(location: str | Path, split: str, columns: HFColumns) -> tuple[Any, list[dict]]:
    """The split, its rows without images, after checking the required columns and unique ids."""
    dataset = open_split(location, split)
    required = [columns.id, columns.image, *columns.fields.values()] + ([columns.answers] if columns.answers else [])
    require_columns(dataset, required, location)
    rows = text_rows(dataset, columns.image)
    seen: set = set()
    for index, row in enumerate(rows):
        row_id = check_id(row[columns.id], location, columns.id, f"row {index}")
        if row_id in seen:
            raise EvalkitError(f"duplicate id {row_id!r}", path=location, field=columns.id)
        seen.add(row_id)
    return dataset, rows


def row_text(row: dict, column: str, location: str | Path, index: int) -> str:
    """A text column of one row; a null is refused rather than read as "None"."""
    return text_value(row[column], location, column, f"row {index}")
