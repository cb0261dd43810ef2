"""Synthetic OK-VQA (v1.1), TextVQA (0.5.1, with Rosetta OCR) and VizWiz in their official layouts."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from evalkit.synthetic.scenes import IMAGE_SIZE, annotator_answers, questions_for, random_scene
from evalkit.synthetic.vqav2 import file_header, question_record

SIGN_WORDS = ("stop", "open", "exit", "taxi", "sale", "cafe", "bus", "park", "hotel", "bank")
UNANSWERABLE = "unanswerable"


def write_okvqa(root: Path, seed: int = 0, images: dict[str, int] | None = None) -> None:
    """OK-VQA v1.1: VQA-format files whose answers carry a stemmed `answer` and the `raw_answer`."""
    for split, count in (images or {"train2014": 150, "val2014": 40}).items():
        rng = random.Random(f"{seed}:okvqa:{split}")
        (root / split).mkdir(parents=True, exist_ok=True)
        questions, annotations = [], []
        first_id = 300_000 if split.startswith("train") else 700_000
        for image_id in range(first_id, first_id + count):
            scene = random_scene(rng)
            scene.draw(rng).save(root / split / f"COCO_{split}_{image_id:012d}.jpg", quality=95)
            shape_raw = scene.shape + ("s" if scene.count > 1 else "")
            asked = [("What shape is shown in the picture?", shape_raw, scene.shape), *(
                (qa.question, qa.answer, qa.answer) for qa in questions_for(scene, rng)[:1])]
            for index, (question, raw, stemmed) in enumerate(asked):
                question_id = image_id * 10 + index
                questions.append(question_record(image_id, question_id, question))
                answers = [{"answer_id": i + 1, "raw_answer": raw, "answer_confidence": "yes", "answer": stemmed}
                           for i in range(10)]
                annotations.append({"question_id": question_id, "image_id": image_id, "question_type": "other",
                                    "answer_type": "other", "confidence": 3, "answers": answers})
        header = file_header(split)
        (root / f"OpenEnded_mscoco_{split}_questions.json").write_text(json.dumps({**header, "questions": questions}))
        (root / f"mscoco_{split}_annotations.json").write_text(json.dumps({**header, "annotations": annotations}))


def _sign(word: str, rng: random.Random) -> Image.Image:
    background = tuple(rng.randint(0, 120) for _ in range(3))
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), background)
    painter = ImageDraw.Draw(image)
    painter.rectangle((6, 30, IMAGE_SIZE - 6, 66), fill=(250, 250, 250))
    painter.text((14, 40), word.upper(), fill=(200, 20, 20))
    return image


def write_textvqa(root: Path, seed: int = 0, images: dict[str, int] | None = None) -> None:
    """TextVQA 0.5.1: `data[]` files, `train_images/{hex id}.jpg` for train and val, Rosetta OCR files."""
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    question_id = 0
    for split, count in (images or {"train": 150, "val": 40}).items():
        rng = random.Random(f"{seed}:textvqa:{split}")
        data, ocr = [], []
        for _ in range(count):
            image_id = f"{rng.getrandbits(64):016x}"
            word = rng.choice(SIGN_WORDS)
            _sign(word, rng).save(root / "train_images" / f"{image_id}.jpg", quality=95)
            answers = [word] * 10
            for position in rng.sample(range(10), rng.randint(0, 3)):
                answers[position] = rng.choice([word.upper(), word.capitalize(), f"{word}?", f"the {word}"])
            data.append({"image_id": image_id, "question_id": question_id, "question": "what does the sign say?",
                         "question_tokens": ["what", "does", "the", "sign", "say"], "answers": answers,
                         "image_classes": ["Street sign"], "image_width": IMAGE_SIZE, "image_height": IMAGE_SIZE,
                         "flickr_original_url": "", "flickr_300k_url": "", "set_name": split})
            ocr.append({"image_id": image_id, "ocr_tokens": [word.upper()], "ocr_info": []})
            question_id += 1
        header = {"dataset_type": split, "dataset_name": "textvqa", "dataset_version": "0.5.1"}
        (root / f"TextVQA_0.5.1_{split}.json").write_text(json.dumps({**header, "data": data}))
        (root / f"TextVQA_Rosetta_OCR_v0.2_{split}.json").write_text(json.dumps({**header, "data": ocr}))


def write_vizwiz(root: Path, seed: int = 0, images: dict[str, int] | None = None) -> None:
    """VizWiz: `Annotations/{split}.json` lists; a quarter of the pictures are blurred past answering."""
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    for split, count in (images or {"train": 150, "val": 40}).items():
        rng = random.Random(f"{seed}:vizwiz:{split}")
        (root / split).mkdir(parents=True, exist_ok=True)
        records = []
        for number in range(count):
            name = f"VizWiz_{split}_{number:08d}.jpg"
            scene = random_scene(rng)
            qa = rng.choice(questions_for(scene, rng)[:2])
            image = scene.draw(rng)
            if rng.random() < 0.25:
                image = image.filter(ImageFilter.GaussianBlur(30))
                answers, answer_type, answerable = [UNANSWERABLE] * 10, UNANSWERABLE, 0
                answers[rng.randrange(10)] = rng.choice(["blurry", UNANSWERABLE])
            else:
                answers, answer_type, answerable = annotator_answers(qa, rng), qa.answer_type, 1
            image.save(root / split / name, quality=95)
            records.append({"image": name, "question": qa.question, "answer_type": answer_type,
                            "answerable": answerable,
                            "answers": [{"answer": a, "answer_confidence": "yes"} for a in answers]})
        (root / "Annotations" / f"{split}.json").write_text(json.dumps(records))


def corpus_sentences() -> list[str]:
    return [f"what does the sign say? {w} {w.upper()} A sign that says {w}. The word {w} written in red."
            for w in SIGN_WORDS] + [
        "What shape is shown in the picture? circles squares triangles", f"{UNANSWERABLE} blurry"]


def write_textcaps(root: Path, seed: int = 0, images: dict[str, int] | None = None) -> None:
    """TextCaps 0.1: one `data[]` entry per caption, each carrying all five `reference_strs`."""
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    for split, count in (images or {"train": 150, "val": 40}).items():
        rng = random.Random(f"{seed}:textcaps:{split}")
        data = []
        for _ in range(count):
            image_id = f"{rng.getrandbits(64):016x}"
            word = rng.choice(SIGN_WORDS)
            _sign(word, rng).save(root / "train_images" / f"{image_id}.jpg", quality=95)
            references = [f"A sign that says {word}.", f"A white sign with the word {word.upper()} on it.",
                          f"The word {word} written in red.", f"A {word} sign.", f"Red letters reading {word}."]
            for caption_id, caption in enumerate(references):
                data.append({"image_id": image_id, "image_name": image_id, "image_path": f"{split}/{image_id}.jpg",
                             "set_name": split, "caption_id": caption_id, "caption_str": caption,
                             "caption_tokens": caption.lower().rstrip(".").split(), "reference_strs": references})
        header = {"dataset_type": split, "dataset_name": "textcaps", "dataset_version": "0.1"}
        (root / f"TextCaps_0.1_{split}.json").write_text(json.dumps({**header, "data": data}))
