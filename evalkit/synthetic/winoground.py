"""Synthetic Winoground in the official layout: `data/examples.jsonl` and `data/images.zip`. Each
example shows two shapes one above the other; image 1 swaps them, and the captions use the same words
in the two orders ("a red circle above a blue square" / "a blue square above a red circle")."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

from evalkit.synthetic.scenes import COLORS, IMAGE_SIZE, SHAPES

COUNT = 120


def _draw(painter: ImageDraw.ImageDraw, shape: str, color: str, top: int) -> None:
    box = (28, top, 68, top + 40)
    fill = COLORS[color]
    if shape == "circle":
        painter.ellipse(box, fill=fill)
    elif shape == "square":
        painter.rectangle(box, fill=fill)
    else:
        painter.polygon([(48, top), (28, top + 40), (68, top + 40)], fill=fill)


def _picture(upper: tuple[str, str], lower: tuple[str, str], rng: random.Random) -> bytes:
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), tuple(rng.randint(225, 255) for _ in range(3)))
    painter = ImageDraw.Draw(image)
    _draw(painter, upper[1], upper[0], 4)
    _draw(painter, lower[1], lower[0], 52)
    encoded = io.BytesIO()
    image.save(encoded, format="PNG")
    return encoded.getvalue()


def caption(upper: tuple[str, str], lower: tuple[str, str]) -> str:
    return f"a {upper[0]} {upper[1]} above a {lower[0]} {lower[1]}"


def write_winoground(root: Path, seed: int = 0, count: int = COUNT) -> None:
    rng = random.Random(f"{seed}:winoground")
    folder = root / "data"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    with zipfile.ZipFile(folder / "images.zip", "w") as archive:
        for example_id in range(count):
            first_color, second_color = rng.sample(sorted(COLORS), 2)
            first, second = (first_color, rng.choice(SHAPES)), (second_color, rng.choice(SHAPES))
            for j, (upper, lower) in enumerate(((first, second), (second, first))):
                archive.writestr(f"images/ex_{example_id}_img_{j}.png", _picture(upper, lower, rng))
            lines.append(json.dumps({
                "id": example_id, "image_0": f"ex_{example_id}_img_0", "image_1": f"ex_{example_id}_img_1",
                "caption_0": caption(first, second), "caption_1": caption(second, first),
                "tag": "Relation-Spatial", "secondary_tag": "", "num_main_preds": 1,
                "collapsed_tag": "Object" if first[1] == second[1] else "Relation"}))
    (folder / "examples.jsonl").write_text("\n".join(lines) + "\n")


def corpus_sentences() -> list[str]:
    return [f"Description of the image: {caption((c1, s1), (c2, s2))}" for c1 in COLORS for c2 in COLORS
            for s1 in SHAPES for s2 in SHAPES if c1 != c2][::7]
