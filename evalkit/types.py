"""The data that flows between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Union

from PIL import Image


class ImageSource(Protocol):
    """Something that yields a PIL image on demand; `key` identifies it across a run."""

    key: str

    def load(self) -> Image.Image: ...


@dataclass(frozen=True)
class Example:
    """One benchmark item: its id, image, text fields and references.

    `images`: every image of an example that has several (Winoground's two, with `references[j]`
    the gold caption of image j); `image` is then the first. Empty for one-image examples.
    """

    id: int | str
    image: ImageSource
    fields: dict[str, Any]
    references: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    images: tuple[ImageSource, ...] = ()


# A prompt is an interleaved sequence of text pieces and images, in reading order.
PromptSegment = Union[str, "ImageSource"]
Prompt = list[PromptSegment]


@dataclass(frozen=True)
class FileImage:
    """An image file on disk, decoded lazily."""

    path: Path

    @property
    def key(self) -> str:
        return f"file:{self.path}"

    def load(self) -> Image.Image:
        from evalkit.data.images import open_rgb

        return open_rgb(self.path)
