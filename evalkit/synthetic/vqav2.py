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


# ---- VQAv2's val split at its real size, for timing the metric (no images are written) ----

VQAV2_VAL_QUESTIONS = 214_354
_SYLLABLES = ("ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu", "na", "pe", "qui", "ro", "su", "ta",
              "ve", "wo", "xi", "yu", "zo", "bri", "cla", "dro", "fle", "gri", "ple", "sta", "tre", "wha")
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _zipf_index(rng: random.Random, size: int) -> int:
    """An index into `size` items, the first ones far more often (answers recur as in VQAv2)."""
    return min(size - 1, int(size ** rng.random()) - 1)


def _variant(answer: str, rng: random.Random) -> str:
    """How another annotator (or a model) writes the same answer: case, article, punctuation,
    a number as a word, a contraction without its apostrophe."""
    choice = rng.randrange(7)
    if choice == 0:
        return answer.capitalize()
    if choice == 1:
        return "the " + answer
    if choice == 2:
        return answer + "."
    if choice == 3 and answer.isdigit() and int(answer) <= 10:
        return _NUMBERS[int(answer)]
    if choice == 4:
        return answer.replace(" ", "-") if " " in answer else answer + "s"
    if choice == 5:
        return answer + " \n"
    return answer.upper() if rng.random() < 0.3 else "dont know" if rng.random() < 0.1 else answer + "!"


def write_vqav2_val_at_scale(root: Path, questions: int = VQAV2_VAL_QUESTIONS, seed: int = 0,
                             vocabulary: int = 30_000) -> list[dict]:
    """VQAv2's val2014 questions and annotations files (official names and fields) with `questions`
    questions and ten answers each, no images. Answers recur as in VQAv2 (yes/no 38%, numbers 12%,
    other answers drawn with a Zipf law from `vocabulary` one- to three-word phrases) and come in
    other spellings that the evaluator's normalisation must undo. Returns predictions
    `[{question_id, answer}]`: the consensus answer, a variant of it, or another answer."""
    rng = random.Random(seed)
    words = _pseudo_words(rng, vocabulary)
    phrases = [" ".join(rng.choice(words) for _ in range(rng.choice((1, 1, 1, 2, 3)))) for _ in range(vocabulary)]
    question_records, annotations, predictions = [], [], []
    for number in range(questions):
        image_id, question_id = 1 + number // 3, number * 10 + 1
        kind = rng.random()
        if kind < 0.38:
            truth, answer_type, question_type = rng.choice(("yes", "no")), "yes/no", "is the"
        elif kind < 0.5:
            truth, answer_type, question_type = str(_zipf_index(rng, 21)), "number", "how many"
        else:
            truth, answer_type, question_type = phrases[_zipf_index(rng, vocabulary)], "other", "what is the"
        answers = [truth if rng.random() < 0.75 else _variant(truth, rng) if rng.random() < 0.6
                   else phrases[_zipf_index(rng, vocabulary)] for _ in range(10)]
        question_records.append(question_record(image_id, question_id, f"Question {number}?"))
        annotations.append({
            "question_id": question_id, "image_id": image_id, "question_type": question_type,
            "answer_type": answer_type, "multiple_choice_answer": Counter(answers).most_common(1)[0][0],
            "answers": [{"answer": answer, "answer_confidence": "yes", "answer_id": i + 1}
                        for i, answer in enumerate(answers)],
        })
        guess = rng.random()
        predicted = (truth if guess < 0.5 else _variant(truth, rng) if guess < 0.7
                     else phrases[_zipf_index(rng, vocabulary)])
        predictions.append({"question_id": question_id, "answer": predicted})
    header = file_header("val2014")
    root.mkdir(parents=True, exist_ok=True)
    (root / "val2014").mkdir(exist_ok=True)
    (root / "v2_OpenEnded_mscoco_val2014_questions.json").write_text(json.dumps(
        {**header, "task_type": "Open-Ended", "data_type": "mscoco", "questions": question_records}))
    (root / "v2_mscoco_val2014_annotations.json").write_text(json.dumps(
        {**header, "data_type": "mscoco", "annotations": annotations}))
    return predictions
