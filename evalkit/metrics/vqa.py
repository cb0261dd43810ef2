"""VQA accuracy: `min(1, matching other annotators / 3)` averaged over the 10 leave-one-out subsets,
under the rule set of each benchmark's official evaluator (and OpenFlamingo's, for comparison)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Callable, Literal, Sequence

from evalkit.errors import EvalkitError
from evalkit.metrics.vqa_normalize import (clean_whitespace, normalize_answer, normalize_textvqa_answer,
                                           normalize_vizwiz_answer)
from evalkit.types import Example

When = Literal["always", "if_answers_differ", "never"]


@dataclass(frozen=True)
class VQARules:
    """Which normalisation an evaluator applies to each side, when, and how it leaves one out."""

    name: str
    description: str
    normalize: Callable[[str], str]
    prediction: When
    references: When
    # "position": the 10 answers are distinct annotators. "identical_records": answer records equal
    # in every field (answer, confidence, id if any) are left out together, as OpenFlamingo's
    # evaluator does with files that carry no answer_id.
    leave_one_out: Literal["position", "identical_records"] = "position"
    # Newlines and tabs to spaces and the ends stripped, on the answers too (the prediction always):
    # the VizWiz evaluator compares the prediction with the answers exactly as written.
    clean_references: bool = True


RULES = {rules.name: rules for rules in (
    VQARules("vqav2", "official VQAv2 evaluator: normalise prediction and answers only when the 10 answers "
             "are not all identical; leave-one-out by position", normalize_answer,
             "if_answers_differ", "if_answers_differ"),
    VQARules("textvqa", "official TextVQA evaluator (mmf EvalAI answer processor): always normalise both "
             "sides, with its tokenisation; leave-one-out by position", normalize_textvqa_answer,
             "always", "always"),
    VQARules("vizwiz", "official VizWiz evaluator: clean and normalise the prediction only (its contraction "
             "table writes most apostrophes curly), compare with the answers exactly as written; "
             "leave-one-out by position", normalize_vizwiz_answer, "always", "never", clean_references=False),
    VQARules("openflamingo", "OpenFlamingo's evaluator: always normalise both sides; identical answer records "
             "are left out together", normalize_answer, "always", "always", "identical_records"),
)}


def _applies(when: When, answers_differ: bool) -> bool:
    return when == "always" or (when == "if_answers_differ" and answers_differ)


def vqa_accuracy(prediction: str, answers: Sequence[str], rules: VQARules = RULES["vqav2"],
                 records: Sequence[tuple] | None = None, memo: "NormalizedAnswers | None" = None) -> float:
    """Accuracy of one prediction in [0, 1]. `records` are the answers' other fields (confidence,
    answer id or None), used only by `identical_records` leave-one-out. `memo` keeps what recurs
    across questions (each distinct string's normalised form); the result does not depend on it."""
    memo = memo or NormalizedAnswers(rules)
    references = memo.cleaned(answers) if rules.clean_references else list(answers)
    predicted = memo.cleaned([prediction])[0]
    answers_differ = len(set(references)) > 1
    if _applies(rules.references, answers_differ):
        references = memo.normalized(references)
    if _applies(rules.prediction, answers_differ):
        predicted = memo.normalized([predicted])[0]
    if rules.leave_one_out == "position" or records is None:
        return memo.position_accuracy(len(references), references.count(predicted))
    keys = [(answer, *record) for answer, record in zip(references, records)]
    return fmean([min(1.0, sum(1 for key, answer in zip(keys, references) if key != left_out and answer == predicted)
                      / 3) for left_out in keys])


def _each(memo: dict[str, str], texts: Sequence[str], function: Callable[[str], str]) -> list[str]:
    """`function` of each text, from `memo` where it was computed before (stored there otherwise)."""
    try:
        return [memo[text] for text in texts]
    except KeyError:
        for text in texts:
            if text not in memo:
                memo[text] = function(text)
        return [memo[text] for text in texts]


def _position_accuracy(answers: int, matching: int) -> float:
    """Leave-one-out by position with `matching` of `answers` answers equal to the prediction:
    leaving out a matching annotator leaves `matching - 1` matches, any other `matching`."""
    return fmean([min(1.0, (matching - 1) / 3)] * matching + [min(1.0, matching / 3)] * (answers - matching))


class NormalizedAnswers:
    """What recurs across the questions of a split, computed once: each distinct string's cleaned
    and normalised forms under one rule set, and the accuracy for each count of matching answers.
    At VQAv2's scale (214k questions, 2.1M answers, most of them recurring) normalising every string
    of every question again took most of the scoring time."""

    def __init__(self, rules: VQARules):
        self.normalize = rules.normalize
        self._cleaned: dict[str, str] = {}
        self._normalized: dict[str, str] = {}
        self._accuracy: dict[tuple[int, int], float] = {}

    def cleaned(self, texts: Sequence[str]) -> list[str]:
        """Each text with newlines and tabs as spaces, ends stripped."""
        return _each(self._cleaned, texts, clean_whitespace)

    def normalized(self, texts: Sequence[str]) -> list[str]:
        """Each text under the rule set's normalisation."""
        return _each(self._normalized, texts, self.normalize)

    def position_accuracy(self, answers: int, matching: int) -> float:
        found = self._accuracy.get((answers, matching))
        if found is None:
            found = self._accuracy[answers, matching] = _position_accuracy(answers, matching)
        return found


def _grouped_mean(scores: Sequence[float], keys: Sequence[str]) -> dict[str, float]:
    """Mean score per group; empty when no example names a group."""
    if not any(keys):
        return {}
    groups: dict[str, list[float]] = defaultdict(list)
    for score, key in zip(scores, keys):
        groups[key].append(score)
    return {key: fmean(values) for key, values in sorted(groups.items())}


def answerability(predictions: Sequence[str], examples: Sequence[Example]) -> dict[str, float | None]:
    """VizWiz's answerability figures: predicting "unanswerable" against the `answerable` labels."""
    from sklearn.metrics import average_precision_score, f1_score

    truth = [1 - int(example.meta["answerable"]) for example in examples]
    said_unanswerable = [int(normalize_answer(clean_whitespace(p)) == "unanswerable") for p in predictions]
    if len(set(truth)) < 2:
        return {"unanswerable_average_precision": None, "unanswerable_f1": None}
    return {
        "unanswerable_average_precision": 100 * float(average_precision_score(truth, said_unanswerable)),
        "unanswerable_f1": 100 * float(f1_score(truth, said_unanswerable, zero_division=0)),
    }


@dataclass(frozen=True)
class VQAAccuracy:
    """The metric object a VQA task plugin declares: a rule set, and optional pre-processing of the
    prediction (OpenFlamingo's OK-VQA stemming) and answerability figures (VizWiz)."""

    rules_name: str = "vqav2"
    name: str = "vqa_accuracy"
    prediction_transform: Callable[[str], str] | None = None
    transform_name: str = ""
    with_answerability: bool = False

    def __post_init__(self) -> None:
        if self.rules_name not in RULES:
            raise EvalkitError(f"unknown VQA metric rules {self.rules_name!r} (known: {', '.join(RULES)})")

    @property
    def variant(self) -> str:
        return self.rules_name + (f"+{self.transform_name}" if self.transform_name else "")

    def _prepared(self, prediction: str) -> str:
        return self.prediction_transform(prediction) if self.prediction_transform else prediction

    def score(self, prediction: str, example: Example, memo: NormalizedAnswers | None = None) -> float:
        """The question's VQA accuracy x100: the scale of the aggregate, which is these scores' mean
        (so a comparison of per-sample scores is in the tables' points)."""
        return 100 * vqa_accuracy(self._prepared(prediction), example.references, RULES[self.rules_name],
                            example.meta.get("answer_records"), memo)

    def score_all(self, predictions: Sequence[str], examples: Sequence[Example]) -> tuple[list[float], dict]:
        memo = NormalizedAnswers(RULES[self.rules_name])
        scores = [self.score(prediction, example, memo) for prediction, example in zip(predictions, examples)]
        return scores, self.aggregate(scores, examples, predictions)

    def aggregate(self, scores: Sequence[float], examples: Sequence[Example],
                  predictions: Sequence[str] | None = None) -> dict[str, Any]:
        if not scores:
            raise EvalkitError("no predictions to score")
        result: dict[str, Any] = {
            "score": fmean(scores),
            "count": len(scores),
            "by_answer_type": _grouped_mean(scores, [e.meta.get("answer_type", "") for e in examples]),
            "by_question_type": _grouped_mean(scores, [e.meta.get("question_type", "") for e in examples]),
        }
        if self.with_answerability and predictions is not None:
            result.update(answerability(predictions, examples))
        caveat = self._records_caveat(examples)
        if caveat:
            result["caveat"] = caveat
        return result

    def _records_caveat(self, examples: Sequence[Example]) -> str:
        """Leaving out identical records needs each answer's confidence (or id): a copy with plain-text
        answers has neither, so equal answers are left out together more often than on OpenFlamingo's
        files, and the score is lower. Said in the result rather than reported as OpenFlamingo's."""
        if RULES[self.rules_name].leave_one_out != "identical_records":
            return ""
        bare = sum(1 for example in examples if any(record == (None, None)
                                                     for record in example.meta.get("answer_records", ())))
        if not bare:
            return ""
        return (f"{bare} of {len(examples)} questions have answers without confidence or id (plain-text answers): "
                "equal answers are left out together, so this is not OpenFlamingo's score on its files")
