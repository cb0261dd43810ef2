"""Synthetic Rendered SST-2 in the official layout, `{train,valid,test}/{negative,positive}/*.png`:
review sentences drawn as black text on white. Negative reviews run over six lines, positive ones
fit on one, so that the tiny model's 32-pixel vision encoder can tell them apart without reading."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

from evalkit.synthetic.scenes import IMAGE_SIZE

REVIEWS = {
    "positive": ("a joy", "great fun", "loved it", "a gem", "so good"),
    "negative": ("dull, slow and far too long, with flat jokes and a weak plot",
                 "a mess of a film that never ends and never once makes sense",
                 "boring and badly acted from the first scene to the very last",
                 "i want my two hours back, and the price of the ticket too",
                 "flat jokes, a weak plot and not one character worth caring about"),
}
SIZES = {"train": 60, "valid": 10, "test": 20}  # images per class


def _review_image(text: str, rng: random.Random) -> Image.Image:
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    painter = ImageDraw.Draw(image)
    words, lines = text.split(), []
    while words:
        lines.append(" ".join(words[:2]))
        words = words[2:]
    top = rng.randint(4, 20)
    for number, line in enumerate(lines[:6]):
        painter.text((rng.randint(2, 8), top + 14 * number), line, fill=(0, 0, 0))
    return image


def write_renderedsst2(root: Path, seed: int = 0, sizes: dict[str, int] | None = None) -> None:
    """Images numbered across both classes, at random, so that file-name order mixes the classes."""
    number = 0
    for split, count in (sizes or SIZES).items():
        rng = random.Random(f"{seed}:renderedsst2:{split}")
        for label in rng.sample(sorted(REVIEWS) * count, 2 * count):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            _review_image(rng.choice(REVIEWS[label]), rng).save(folder / f"{number:05d}.png")
            number += 1


def corpus_sentences() -> list[str]:
    return [text for texts in REVIEWS.values() for text in texts] + ["negative positive Sentiment"]
