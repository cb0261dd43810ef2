"""VQA accuracy: `min(1, matching other annotators / 3)` averaged over leave-one-out subsets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Sequence

from evalkit.errors import EvalkitError
from evalkit.metrics.vqa_normalize import clean_whitespace, normalize_answer
from evalkit.types import Example


@dataclass(frozen=True)
class VQARules:
    """Which normalisation an official evaluator applies, and when."""

    name: str
    description: str
    normalize_only_if_answers_differ: bool


RULES = {
    "vqav2": VQARules(
        name="vqav2",
        description="official VQAv2 evaluator: normalise prediction and answers only when the "
        "10 answers are not all identical; leave-one-out by position",
        normalize_only_if_answers_differ=True,
    ),
}


def vqa_accuracy(prediction: str, answers: Sequence[str], rules: VQARules = RULES["vqav2"]) -> float:
    """Accuracy of one prediction in [0, 1] against the annotators' answers."""
    references = [clean_whitespace(answer) for answer in answers]
    predicted = clean_whitespace(prediction)
    if not rules.normalize_only_if_answers_differ or len(set(references)) > 1:
        references = [normalize_answer(answer) for answer in references]
        predicted = normalize_answer(predicted)
    per_subset = []
    for left_out in range(len(references)):
        matches = sum(
            1 for position, answer in enumerate(references) if position != left_out and answer == predicted
        )
        per_subset.append(min(1.0, matches / 3))
    return fmean(per_subset)


def _grouped_percent(scores: Sequence[float], keys: Sequence[str]) -> dict[str, float]:
    groups: dict[str, list[float]] = defaultdict(list)
    for score, key in zip(scores, keys):
        groups[key].append(score)
    return {key: 100 * fmean(values) for key, values in sorted(groups.items())}


@dataclass(frozen=True)
class VQAAccuracy:
    """The metric object a VQA task plugin declares."""

    rules_name: str = "vqav2"
    name: str = "vqa_accuracy"

    def __post_init__(self) -> None:
        if self.rules_name not in RULES:
            raise EvalkitError(f"unknown VQA metric variant {self.rules_name!r} (known: {', '.join(RULES)})")

    @property
    def variant(self) -> str:
        return self.rules_name

    def score(self, prediction: str, example: Example) -> float:
        return vqa_accuracy(prediction, example.references, RULES[self.rules_name])

    def aggregate(self, scores: Sequence[float], examples: Sequence[Example]) -> dict[str, Any]:
        if not scores:
            raise EvalkitError("no predictions to score")
        return {
            "score": 100 * fmean(scores),
            "count": len(scores),
            "by_answer_type": _grouped_percent(scores, [e.meta.get("answer_type", "") for e in examples]),
            "by_question_type": _grouped_percent(scores, [e.meta.get("question_type", "") for e in examples]),
        }
