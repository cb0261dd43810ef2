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


def content_id(source: ImageSource) -> str:
    """What identifies an image's content cheaply: a file's resolved path, size and modification
    time; else the source's `content` (a dataset row's key and its dataset's fingerprint) or key."""
    path = getattr(source, "path", None)
    if isinstance(path, Path) and path.is_file():
        stat = path.stat()
        return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return str(getattr(source, "content", None) or source.key)


def image_size(source: ImageSource) -> tuple[int, int]:
    """(width, height), read from a file's header without decoding it where possible."""
    path = getattr(source, "path", None)
    if isinstance(path, Path):
        try:
            with Image.open(path) as image:
                return image.size
        except (OSError, ValueError, Image.DecompressionBombError):
            pass  # loading says what is wrong, in one line
    return source.load().size
