"""Opening images safely: every failure becomes a one-line error naming the file."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from evalkit.errors import EvalkitError

# Large benchmark images are fine, decompression bombs are not: Pillow refuses images of more than
# twice this many pixels (and warns above it).
Image.MAX_IMAGE_PIXELS = 200_000_000


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB whatever the mode (CMYK, 16-bit, palette, alpha on white)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit grey (any byte order): the top 8 bits. `point` needs mode I, not the I;16 variants.
        return image.convert("I").point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def open_rgb(path: Path) -> Image.Image:
    if not path.is_file():
        raise EvalkitError("image file not found", path=path)
    return _decode(path, path)


def open_rgb_bytes(data: bytes, name: str) -> Image.Image:
    """An encoded image held in memory (a zip member); errors name it as `name`."""
    return _decode(io.BytesIO(data), name)


def _decode(source: Path | io.BytesIO, name: Path | str) -> Image.Image:
    try:
        with Image.open(source) as image:
            image.load()
            return to_rgb(image)
    except Image.DecompressionBombError as error:  # "Image size (N pixels) exceeds limit of M pixels..."
        raise EvalkitError(f"image too large: {error}", path=name) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise EvalkitError(f"cannot decode image ({error})", path=name) from None
