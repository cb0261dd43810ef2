"""Synthetic Hateful Memes, ImageNet (an 18-class shape subset with its own classnames.json) and
FairFace, in their official layouts."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

from evalkit.data.classification import FAIRFACE_AGES, FAIRFACE_GENDERS, FAIRFACE_RACES
from evalkit.synthetic.scenes import COLORS, IMAGE_SIZE, SHAPES, Scene

MEME_TEXTS = {0: ("i love mondays", "what a lovely day", "cats are great"),
              1: ("i hate everyone here", "you are all terrible", "hate hate hate")}


def write_hatefulmemes(root: Path, seed: int = 0, sizes: dict[str, int] | None = None) -> None:
    """`img/NNNNN.png` and `{split}.jsonl`; hateful memes are drawn on a dark red background."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    number = 10_000
    for split, count in (sizes or {"train": 120, "dev_seen": 40, "test_seen": 20}).items():
        rng = random.Random(f"{seed}:hatefulmemes:{split}")
        lines = []
        for _ in range(count):
            label = rng.randint(0, 1)
            text = rng.choice(MEME_TEXTS[label])
            image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (120, 10, 10) if label else (200, 220, 250))
            ImageDraw.Draw(image).text((4, 40), text[:16], fill=(255, 255, 255) if label else (0, 0, 0))
            image.save(root / "img" / f"{number:05d}.png")
            lines.append(json.dumps({"id": number, "img": f"img/{number:05d}.png", "label": label, "text": text}))
            number += 1
        (root / f"{split}.jsonl").write_text("\n".join(lines) + "\n")


def imagenet_classes() -> list[tuple[str, str, str]]:
    """(wnid, colour, shape) for 18 synthetic classes, named like "red circle" (more than 16, so that
    the card's 16-shot cells with one support image per class can be drawn)."""
    pairs = [(color, shape) for color in sorted(COLORS) for shape in SHAPES]
    return [(f"n{index:08d}", color, shape) for index, (color, shape) in enumerate(pairs)]


def write_imagenet(root: Path, seed: int = 0, per_class: dict[str, int] | None = None) -> None:
    classes = imagenet_classes()
    root.mkdir(parents=True, exist_ok=True)
    (root / "classnames.json").write_text(json.dumps([f"{color} {shape}" for _, color, shape in classes]))
    for split, count in (per_class or {"train": 8, "val": 3}).items():
        rng = random.Random(f"{seed}:imagenet:{split}")
        for wnid, color, shape in classes:
            (root / split / wnid).mkdir(parents=True, exist_ok=True)
            for index in range(count):
                scene = Scene(shape=shape, color=color, count=rng.randint(1, 3))
                scene.draw(rng).save(root / split / wnid / f"{wnid}_{index}.JPEG", quality=95)


def _face(rng: random.Random, race: str, gender: str, age: str) -> Image.Image:
    """A disc whose colour follows race, whose size follows age and with a bar for gender."""
    shade = 60 + 25 * FAIRFACE_RACES.index(race)
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), tuple(rng.randint(200, 255) for _ in range(3)))
    painter = ImageDraw.Draw(image)
    radius = 14 + 3 * FAIRFACE_AGES.index(age)
    centre = IMAGE_SIZE // 2
    painter.ellipse((centre - radius, centre - radius, centre + radius, centre + radius), fill=(shade, shade // 2, 90))
    if gender == "Female":
        painter.rectangle((0, 0, IMAGE_SIZE, 8), fill=(230, 60, 160))
    return image


def write_fairface(root: Path, seed: int = 0, sizes: dict[str, int] | None = None) -> None:
    """`fairface_label_{split}.csv` and `{split}/N.jpg` images."""
    for split, count in (sizes or {"train": 120, "val": 42}).items():
        rng = random.Random(f"{seed}:fairface:{split}")
        (root / split).mkdir(parents=True, exist_ok=True)
        with (root / f"fairface_label_{split}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "age", "gender", "race", "service_test"])
            for number in range(1, count + 1):
                race = FAIRFACE_RACES[number % len(FAIRFACE_RACES)]
                gender, age = rng.choice(FAIRFACE_GENDERS), rng.choice(FAIRFACE_AGES)
                _face(rng, race, gender, age).save(root / split / f"{number}.jpg", quality=95)
                writer.writerow([f"{split}/{number}.jpg", age, gender, race, rng.choice(["True", "False"])])


def corpus_sentences() -> list[str]:
    return [text for texts in MEME_TEXTS.values() for text in texts] + [
        f"a photo of a {color} {shape}." for color in COLORS for shape in SHAPES]
