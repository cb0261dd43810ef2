"""Synthetic VisDial v1.0 in the official layout: dialog files with global question and answer lists,
dense annotations for val, train images named as COCO's, val images as VisualDialog_val2018's.

Each dialog is about one drawn scene; its 10 rounds ask things the picture answers. A round offers
OPTIONS answer options (the official files have 100; fewer keep the synthetic runs fast) in random
order: the right answer (relevance 1), sometimes a paraphrase of it (0.5), and wrong answers (0).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from evalkit.synthetic.captions import captions_for
from evalkit.synthetic.scenes import COLORS, NUMBER_WORDS, SHAPES, Scene, random_scene

ROUNDS = 10
OPTIONS = 20
SIZES = {"train": (200_000, 300), "val": (800_000, 24)}  # first image id, dialogs
PARAPHRASES = {"yes": "yes it is", "no": "no it is not"}
FILLERS = ("i can't tell", "maybe", "not sure", "outside", "daytime", "a drawing", "no people", "just one kind",
           "it looks new", "on a table", "i think so", "no animals")


def _rounds(scene: Scene, rng: random.Random) -> list[tuple[str, str]]:
    """Ten (question, answer) pairs about the scene; questions without '?', as the official files."""
    other_shape = rng.choice([shape for shape in SHAPES if shape != scene.shape])
    pool = [
        (f"what color is the {scene.shape}", scene.color),
        (f"how many {scene.shape}s are there", NUMBER_WORDS[scene.count]),
        ("what shape are they", scene.shape),
        (f"are there any {other_shape}s", "no"),
        ("can you see any people", "no"),
        ("is the background light", "yes"),
    ]
    for color in rng.sample(sorted(COLORS), 4):
        pool.append((f"is the {scene.shape} {color}", "yes" if color == scene.color else "no"))
    return rng.sample(pool, ROUNDS)


def _options(answer: str, answers: list[str], rng: random.Random) -> tuple[list[str], list[float]]:
    """OPTIONS distinct answers in random order with their relevance."""
    chosen = {answer: 1.0}
    if answer in PARAPHRASES and rng.random() < 0.5:
        chosen[PARAPHRASES[answer]] = 0.5
    for wrong in rng.sample([a for a in answers if a not in chosen and PARAPHRASES.get(answer) != a], OPTIONS):
        if len(chosen) == OPTIONS:
            break
        chosen[wrong] = 0.0
    options = list(chosen)
    rng.shuffle(options)
    return options, [chosen[option] for option in options]


def answer_vocabulary() -> list[str]:
    """Every answer a synthetic dialog can hold (the official files' global `answers` list)."""
    return sorted({*COLORS, *SHAPES, *NUMBER_WORDS.values(), "yes", "no", *PARAPHRASES.values(), *FILLERS})


def write_visdial(root: Path, seed: int = 0, sizes: dict[str, tuple[int, int]] | None = None) -> None:
    answers = answer_vocabulary()
    for split, (first_id, count) in (sizes or SIZES).items():
        rng = random.Random(f"{seed}:visdial:{split}")
        questions: list[str] = []
        dialogs, dense = [], []
        for image_id in range(first_id, first_id + count):
            scene = random_scene(rng)
            if split == "train":
                path = root / "train2014" / f"COCO_train2014_{image_id:012d}.jpg"
            else:
                path = root / "VisualDialog_val2018" / f"VisualDialog_val2018_{image_id:012d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            scene.draw(rng).save(path, quality=95)
            rounds, relevances = [], []
            for question, answer in _rounds(scene, rng):
                if question not in questions:
                    questions.append(question)
                options, relevance = _options(answer, answers, rng)
                rounds.append({"question": questions.index(question), "answer": answers.index(answer),
                               "answer_options": [answers.index(option) for option in options],
                               "gt_index": options.index(answer)})
                relevances.append(relevance)
            caption = captions_for(scene, rng, 1)[0].lower().rstrip(".")
            dialogs.append({"image_id": image_id, "caption": caption, "dialog": rounds})
            if split == "val":
                round_id = rng.randint(1, ROUNDS)
                dense.append({"image_id": image_id, "round_id": round_id, "gt_relevance": relevances[round_id - 1]})
        document = {"version": "1.0", "split": split, "data": {"questions": questions, "answers": answers,
                                                                "dialogs": dialogs}}
        root.mkdir(parents=True, exist_ok=True)
        (root / f"visdial_1.0_{split}.json").write_text(json.dumps(document))
        if dense:
            (root / f"visdial_1.0_{split}_dense_annotations.json").write_text(json.dumps(dense))


def corpus_sentences() -> list[str]:
    rng = random.Random(0)
    return [f"Question: {question}? Answer: {answer}." for _ in range(6)
            for question, answer in _rounds(random_scene(rng), rng)] + [", ".join(answer_vocabulary())]
