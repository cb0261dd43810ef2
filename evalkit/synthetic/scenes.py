"""Pictures of coloured shapes, and questions whose answers follow from the picture."""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "purple": (140, 50, 170),
    "orange": (245, 140, 30),
}
SHAPES = ("circle", "square", "triangle")
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
IMAGE_SIZE = 96


@dataclass(frozen=True)
class Scene:
    """`count` shapes of one kind and one colour on a light background."""

    shape: str
    color: str
    count: int

    def draw(self, rng: random.Random) -> Image.Image:
        background = tuple(rng.randint(225, 255) for _ in range(3))
        image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), background)
        painter = ImageDraw.Draw(image)
        cell = IMAGE_SIZE // 2
        for slot in rng.sample(range(4), self.count):
            left, top = (slot % 2) * cell + rng.randint(2, 8), (slot // 2) * cell + rng.randint(2, 8)
            side = rng.randint(cell - 20, cell - 10)
            box = (left, top, left + side, top + side)
            fill = COLORS[self.color]
            if self.shape == "circle":
                painter.ellipse(box, fill=fill)
            elif self.shape == "square":
                painter.rectangle(box, fill=fill)
            else:
                painter.polygon([(left + side / 2, top), (left, top + side), (left + side, top + side)], fill=fill)
        return image


def random_scene(rng: random.Random) -> Scene:
    return Scene(shape=rng.choice(SHAPES), color=rng.choice(sorted(COLORS)), count=rng.randint(1, 4))


@dataclass(frozen=True)
class QA:
    question: str
    answer: str
    answer_type: str
    question_type: str


def questions_for(scene: Scene, rng: random.Random) -> list[QA]:
    """Three questions per picture: colour, count, and a yes/no check."""
    noun = scene.shape if scene.count == 1 else scene.shape + "s"
    asked_color = scene.color if rng.random() < 0.5 else rng.choice(sorted(set(COLORS) - {scene.color}))
    return [
        QA(f"What color is the {scene.shape}?" if scene.count == 1 else f"What color are the {noun}?",
           scene.color, "other", "what color is the"),
        QA(f"How many {scene.shape}s are there?", str(scene.count), "number", "how many"),
        QA(f"Is the {scene.shape} {asked_color}?" if scene.count == 1 else f"Are the {noun} {asked_color}?",
           "yes" if asked_color == scene.color else "no", "yes/no", "is the"),
    ]


def _spelling_variants(qa: QA) -> list[str]:
    """Other ways annotators write the same answer (capitals, number words, articles, punctuation)."""
    if qa.answer_type == "number":
        return [NUMBER_WORDS[int(qa.answer)], qa.answer + "."]
    if qa.answer_type == "yes/no":
        return [qa.answer.capitalize(), qa.answer + "!"]
    return [qa.answer.capitalize(), "the " + qa.answer, "dark " + qa.answer]


def annotator_answers(qa: QA, rng: random.Random) -> list[str]:
    """Ten human-like answers: mostly the truth, sometimes in other spellings or simply wrong."""
    answers = [qa.answer] * 10
    if rng.random() < 0.4:
        variants = _spelling_variants(qa)
        for position in rng.sample(range(10), rng.randint(1, 3)):
            answers[position] = rng.choice(variants)
    if rng.random() < 0.2:
        answers[rng.randrange(10)] = rng.choice(sorted(COLORS) + ["2", "yes", "no"])
    return answers


def corpus_sentences() -> list[str]:
    """Text a tokenizer for these pictures should know (questions, answers and their variants)."""
    rng = random.Random(0)
    sentences = []
    for shape in SHAPES:
        for color in COLORS:
            for count in range(1, 5):
                for qa in questions_for(Scene(shape, color, count), rng):
                    sentences.append(f"{qa.question} {qa.answer} {NUMBER_WORDS[count]} {color.capitalize()}")
    return sentences
