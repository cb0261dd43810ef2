"""Synthetic captioning data: Karpathy files for COCO and Flickr30k, and NoCaps val, with captions
that describe the drawn shapes."""

from __future__ import annotations

import json
import random
from pathlib import Path

from evalkit.synthetic.scenes import NUMBER_WORDS, Scene, random_scene

CAPTION_PATTERNS = (
    "{number} {color} {noun} on a light background",
    "a picture of {number} {color} {noun}",
    "{number} {noun} colored {color}",
    "{color} {noun}, {number} of them",
    "an image showing {number} {color} {noun}",
)
NOCAPS_DOMAINS = ("in-domain", "near-domain", "out-domain")


def captions_for(scene: Scene, rng: random.Random, count: int) -> list[str]:
    noun = scene.shape if scene.count == 1 else scene.shape + "s"
    number = "one" if scene.count == 1 else NUMBER_WORDS[scene.count]
    patterns = rng.sample(CAPTION_PATTERNS, min(count, len(CAPTION_PATTERNS)))
    patterns += [rng.choice(CAPTION_PATTERNS) for _ in range(count - len(patterns))]
    return [p.format(number=number, color=scene.color, noun=noun).capitalize() + "." for p in patterns]


def _karpathy_record(imgid: int, split: str, filename: str, captions: list[str], first_sentid: int) -> dict:
    sentences = [{"tokens": c.lower().rstrip(".").replace(",", "").split(), "raw": c, "imgid": imgid,
                  "sentid": first_sentid + i} for i, c in enumerate(captions)]
    return {"sentids": [s["sentid"] for s in sentences], "imgid": imgid, "sentences": sentences,
            "split": split, "filename": filename}


KARPATHY_SIZES = {"train": 150, "restval": 20, "val": 10, "test": 40}


def write_karpathy(root: Path, dataset: str, seed: int = 0, sizes: dict[str, int] | None = None) -> None:
    """`dataset_coco.json` (+ train2014/ val2014/ images) or `dataset_flickr30k.json` (+ flickr30k-images/)."""
    rng = random.Random(f"{seed}:{dataset}")
    images, imgid, sentid = [], 0, 0
    for split, count in (sizes or KARPATHY_SIZES).items():
        for _ in range(count):
            scene = random_scene(rng)
            captions = captions_for(scene, rng, 5)
            if dataset == "coco":
                cocoid = 100_000 + imgid * 7
                filepath = "train2014" if split in ("train", "restval") else "val2014"
                filename = f"COCO_{filepath}_{cocoid:012d}.jpg"
                folder = root / filepath
            else:
                filename, folder = f"{1_000_000_000 + imgid * 13}.jpg", root / "flickr30k-images"
            folder.mkdir(parents=True, exist_ok=True)
            scene.draw(rng).save(folder / filename, quality=95)
            record = _karpathy_record(imgid, split, filename, captions, sentid)
            if dataset == "coco":
                record.update({"filepath": filepath, "cocoid": cocoid})
            images.append(record)
            imgid, sentid = imgid + 1, sentid + len(captions)
    document = {"images": images, "dataset": dataset}
    (root / f"dataset_{dataset}.json").write_text(json.dumps(document))


def write_coco(root: Path, seed: int = 0) -> None:
    write_karpathy(root, "coco", seed)


def write_flickr30k(root: Path, seed: int = 0) -> None:
    write_karpathy(root, "flickr30k", seed)


def write_nocaps(root: Path, seed: int = 0, count: int = 30) -> None:
    """`nocaps_val_4500_captions.json` (10 captions per image, each image with its domain), images in validation/."""
    rng = random.Random(f"{seed}:nocaps")
    (root / "validation").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(count):
        open_images_id = f"{rng.getrandbits(64):016x}"
        scene = random_scene(rng)
        scene.draw(rng).save(root / "validation" / f"{open_images_id}.jpg", quality=95)
        images.append({"id": image_id, "open_images_id": open_images_id, "height": 96, "width": 96,
                       "coco_url": f"https://s3.amazonaws.com/nocaps/val/{open_images_id}.jpg",
                       "file_name": f"{open_images_id}.jpg", "license": 0, "date_captured": "2018-11-06 11:04:33",
                       "domain": NOCAPS_DOMAINS[image_id % 3]})
        for caption in captions_for(scene, rng, 10):
            annotations.append({"image_id": image_id, "id": len(annotations), "caption": caption})
    info = {"url": "http://nocaps.org", "version": "0.1", "description": "evalkit synthetic nocaps"}
    (root / "nocaps_val_4500_captions.json").write_text(json.dumps(
        {"licenses": [], "info": info, "images": images, "annotations": annotations}))


def corpus_sentences() -> list[str]:
    rng = random.Random(0)
    return [caption for _ in range(20) for caption in captions_for(random_scene(rng), rng, 5)]
