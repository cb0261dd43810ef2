"""Synthetic VQAv2 in the official layout: questions + annotations JSON and COCO-named images."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from evalkit.synthetic.scenes import annotator_answers, questions_for, random_scene

SPLITS = {"train2014": (100_000, 600), "val2014": (500_000, 60)}  # first image id, number of images


def question_record(image_id: int, question_id: int, question: str) -> dict:
    return {"image_id": image_id, "question": question, "question_id": question_id}


def _annotation_record(image_id: int, question_id: int, qa, answers: list[str]) -> dict:
    return {
        "question_id": question_id,
        "image_id": image_id,
        "question_type": qa.question_type,
        "answer_type": qa.answer_type,
        "multiple_choice_answer": Counter(answers).most_common(1)[0][0],
        "answers": [
            {"answer": answer, "answer_confidence": "yes" if answer == qa.answer else "maybe", "answer_id": i + 1}
            for i, answer in enumerate(answers)
        ],
    }


def file_header(split: str) -> dict:
    return {
        "info": {"description": "evalkit synthetic VQAv2-format data (coloured shapes)", "version": "1.0"},
        "license": {"name": "CC0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
        "data_subtype": split,
    }


def write_split(root: Path, split: str, first_image_id: int, num_images: int, rng: random.Random) -> int:
    image_dir = root / split
    image_dir.mkdir(parents=True, exist_ok=True)
    questions, annotations = [], []
    for image_id in range(first_image_id, first_image_id + num_images):
        scene = random_scene(rng)
        scene.draw(rng).save(image_dir / f"COCO_{split}_{image_id:012d}.jpg", quality=95)
        for index, qa in enumerate(questions_for(scene, rng)):
            question_id = image_id * 1000 + index
            questions.append(question_record(image_id, question_id, qa.question))
            annotations.append(_annotation_record(image_id, question_id, qa, annotator_answers(qa, rng)))
    header = file_header(split)
    (root / f"v2_OpenEnded_mscoco_{split}_questions.json").write_text(json.dumps(
        {**header, "task_type": "Open-Ended", "data_type": "mscoco", "questions": questions}))
    (root / f"v2_mscoco_{split}_annotations.json").write_text(json.dumps(
        {**header, "data_type": "mscoco", "annotations": annotations}))
    return len(questions)


def write_vqav2(root: Path, seed: int = 0, scale: float = 1.0) -> dict[str, int]:
    """Write both splits; returns the number of questions per split."""
    counts = {}
    for split, (first_id, num_images) in SPLITS.items():
        rng = random.Random(f"{seed}:{split}")
        counts[split] = write_split(root, split, first_id, max(4, int(num_images * scale)), rng)
    return counts
