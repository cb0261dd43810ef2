"""Synthetic ScienceQA in the official layout: `problems.json`, `pid_splits.json` and
`{split}/{pid}/image.png`. Most questions ask what the picture shows, with 2 to 5 choices; some have no
image (the readers leave those out, as the card's test-IMG does). Each kind of question lists its
choices in one fixed order (yes/no: 2, shapes: 3, counts: 4, colours: 5 of the 6), so that the tiny
model can answer from the picture without learning to search the list for the matching line."""

from __future__ import annotations

import json
import random
from pathlib import Path

from evalkit.synthetic.scenes import COLORS, NUMBER_WORDS, SHAPES, Scene, random_scene

SPLITS = {"train": 400, "val": 20, "test": 48}
SUBJECTS = ("natural science", "social science", "language science")
HINTS = ("", "", "The picture shows some shapes.", "Look at the picture.")
COLOR_ORDER = sorted(COLORS)


def _question(scene: Scene, rng: random.Random) -> tuple[str, list[str], str, str]:
    """(question, choices, right choice, solution) about the scene."""
    kind = rng.choice(("color", "shape", "count", "yes/no"))
    if kind == "color":  # five colours: the first five, or the last five when the answer is the sixth
        right, question = scene.color, "Which color are the shapes?"
        choices = COLOR_ORDER[:5] if right in COLOR_ORDER[:5] else COLOR_ORDER[1:]
    elif kind == "shape":
        right, choices, question = scene.shape, list(SHAPES), "Which shape is shown?"
    elif kind == "count":
        right, choices, question = NUMBER_WORDS[scene.count], list(NUMBER_WORDS.values()), "How many shapes are there?"
    else:
        asked = rng.choice(COLOR_ORDER)
        right, choices, question = ("yes" if asked == scene.color else "no"), ["yes", "no"], f"Are the shapes {asked}?"
    noun = scene.shape if scene.count == 1 else scene.shape + "s"
    return question, choices, right, f"The picture shows {NUMBER_WORDS[scene.count]} {scene.color} {noun}."


def write_scienceqa(root: Path, seed: int = 0, sizes: dict[str, int] | None = None) -> None:
    problems, pid_splits, pid = {}, {}, 1
    for split, count in (sizes or SPLITS).items():
        rng = random.Random(f"{seed}:scienceqa:{split}")
        pid_splits[split] = []
        for number in range(count):
            scene = random_scene(rng)
            question, choices, right, solution = _question(scene, rng)
            has_image = number % 6 != 5
            if has_image:
                (root / split / str(pid)).mkdir(parents=True, exist_ok=True)
                scene.draw(rng).save(root / split / str(pid) / "image.png")
            grade = rng.randint(1, 12)
            problems[str(pid)] = {
                "question": question, "choices": choices, "answer": choices.index(right),
                "hint": rng.choice(HINTS), "image": "image.png" if has_image else None, "task": "closed choice",
                "grade": f"grade{grade}", "subject": SUBJECTS[pid % 3], "topic": "shapes", "category": "Pictures",
                "skill": "Read a picture", "lecture": "Pictures show shapes of one colour.", "solution": solution,
                "split": split}
            pid_splits[split].append(str(pid))
            pid += 1
    root.mkdir(parents=True, exist_ok=True)
    (root / "problems.json").write_text(json.dumps(problems))
    (root / "pid_splits.json").write_text(json.dumps(pid_splits))


def corpus_sentences() -> list[str]:
    rng = random.Random(0)
    sentences = []
    for _ in range(30):
        question, choices, right, solution = _question(random_scene(rng), rng)
        sentences.append(f"{question} " + " ".join(f"{letter} - {c}" for letter, c in zip("ABCDE", choices))
                         + f" The best answer is {'ABCDE'[choices.index(right)]}. {solution}")
    return sentences + [" ".join(HINTS)]
