"""1,000-class scoring per query: evalkit's cached batched scoring vs a prompt-cache-then-loop baseline
vs one full sequence per class, in one run, on the offline model and a bigger random IDEFICS.

    .venv/bin/python benchmarks/classification_scoring.py [--queries 2] [--classes 1000]

Prints time per query, the ratios, and the largest score difference between the methods.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from evalkit.assets import TRAINED_MODEL, tokenizer_corpus
from evalkit.data.classification import imagenet_class_names
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.offline import MID_SIZE, build_tiny_idefics
from evalkit.synthetic.scenes import random_scene



class MemoryImage:
    def __init__(self, image, key):
        self.image, self.key = image, key

    def load(self):
        return self.image


def prompt_with_shots(shots: int) -> list:
    import random

    rng = random.Random(0)
    prompt: list = []
    for index in range(shots + 1):
        text = "Category: a photo of a red circle.\nImage:" if index < shots else "Category: a photo of a"
        prompt += ["Image:" if index == 0 else "", MemoryImage(random_scene(rng).draw(rng), f"m{index}"), text]
    return [segment for segment in prompt if segment != ""]


def loop_baseline(adapter: IdeficsAdapter, prompt: list, candidates: list[str]) -> list[float]:
    """The prompt's keys/values cached once, then one forward per class (OpenFlamingo's approach)."""
    return [score.total for c in candidates for score in adapter.score_continuations(prompt, [c], chunk_size=1)]


def timed(function, *args) -> tuple[float, list[float]]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def measure(name: str, adapter: IdeficsAdapter, queries: int, classes: int, full_classes: int, shots: int) -> None:
    candidates = [f" {c}." for c in dict.fromkeys(imagenet_class_names())][:classes]
    prompt = prompt_with_shots(shots)
    ours_time = loop_time = full_time = 0.0
    difference = 0.0
    for _ in range(queries):
        t, ours = timed(lambda: [s.total for s in adapter.score_continuations(prompt, candidates)])
        ours_time += t
        t, looped = timed(loop_baseline, adapter, prompt, candidates)
        loop_time += t
        # One full sequence per class is timed on a slice and scaled: it is linear in the class count.
        t, full = timed(lambda: [s.total for s in adapter.score_full_sequences(prompt, candidates[:full_classes])])
        full_time += t * len(candidates) / full_classes
        difference = max(difference, max(abs(a - b) for a, b in zip(ours, looped)),
                         max(abs(a - b) for a, b in zip(ours, full)))
    print(f"{name}: {len(candidates)} classes, {shots} shots, per query: evalkit {ours_time / queries:.2f} s, "
          f"loop {loop_time / queries:.2f} s, full sequences {full_time / queries:.2f} s (from {full_classes}); "
          f"loop/evalkit {loop_time / ours_time:.1f}x, full/evalkit {full_time / ours_time:.1f}x; "
          f"largest score difference {difference:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=2)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--full-classes", type=int, default=50, help="classes scored one full sequence each")
    parser.add_argument("--shots", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    measure("offline tiny model", IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), dtype="float32", device="cpu"),
            args.queries, args.classes, args.full_classes, args.shots)
    with tempfile.TemporaryDirectory() as folder:
        bigger = build_tiny_idefics(Path(folder) / "bigger", tokenizer_corpus(), seed=0, size=MID_SIZE)
        adapter = IdeficsAdapter.from_pretrained(str(bigger), dtype="float32", device="auto")
        measure(f"bigger random IDEFICS ({adapter.describe()['parameters'] / 1e6:.0f}M parameters)", adapter,
                args.queries, args.classes, args.full_classes, args.shots)


if __name__ == "__main__":
    main()
