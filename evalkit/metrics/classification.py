"""Classification by ranking class names: accuracy (top-k), HatefulMemes ROC-AUC from probabilities,
and FairFace's accuracy spread across race x gender buckets.

A prediction is a mapping {class name: log-likelihood score}; the gold class is the example's
first reference. Duplicate class names (ImageNet's "missile", "sunglasses") are one name: choosing
it counts as right for either index.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from statistics import fmean, pstdev
from typing import Any, Mapping, Sequence

from evalkit.errors import EvalkitError
from evalkit.types import Example

ClassScores = Mapping[str, float]


def ranked(scores: ClassScores) -> list[str]:
    """Class names from best to worst; ties broken by name so the order is reproducible."""
    return sorted(scores, key=lambda name: (-scores[name], name))


def _correct(scores: Sequence[ClassScores], examples: Sequence[Example], k: int = 1) -> list[float]:
    if not examples:
        raise EvalkitError("no predictions to score")
    return [float(example.references[0] in ranked(s)[:k]) for s, example in zip(scores, examples)]


@dataclass(frozen=True)
class Accuracy:
    """Top-1 accuracy (x100), top-k beside it, and accuracy per value of each `breakdowns` key of the
    examples' meta (`by_<key>`, e.g. ScienceQA's subject, grade band and context)."""

    name: str = "accuracy"
    variant: str = "top-1"
    top_k: tuple[int, ...] = (5,)
    breakdowns: tuple[str, ...] = ()
    published_note: str = ""  # what to read beside published numbers (recorded in the aggregate)

    def score_all(self, predictions: Sequence[ClassScores], examples: Sequence[Example]) -> tuple[list[float], dict]:
        hits = _correct(predictions, examples)
        aggregate: dict[str, Any] = {"score": 100 * fmean(hits), "count": len(hits)}
        for k in self.top_k:
            aggregate[f"top_{k}"] = 100 * fmean(_correct(predictions, examples, k))
        for key in self.breakdowns:
            groups: dict[str, list[float]] = defaultdict(list)
            for hit, example in zip(hits, examples):
                groups[str(example.meta[key])].append(hit)
            aggregate[f"by_{key}"] = {value: 100 * fmean(group) for value, group in sorted(groups.items())}
        if self.published_note:
            aggregate["published_note"] = self.published_note
        return [100 * hit for hit in hits], aggregate


def probability_of(positive: str, negative: str, scores: ClassScores) -> float:
    """softmax over the two class scores, for `positive`."""
    return 1.0 / (1.0 + math.exp(scores[negative] - scores[positive]))


@dataclass(frozen=True)
class RocAuc:
    """HatefulMemes: ROC-AUC of P(yes) = softmax(yes, no scores) (probabilities, never hard labels)."""

    name: str = "roc_auc"
    variant: str = "p_yes_softmax"
    positive: str = "yes"
    negative: str = "no"

    def score_all(self, predictions: Sequence[ClassScores], examples: Sequence[Example]) -> tuple[list[float], dict]:
        from sklearn.metrics import roc_auc_score

        hits = _correct(predictions, examples)
        truth = [int(example.references[0] == self.positive) for example in examples]
        probabilities = [probability_of(self.positive, self.negative, s) for s in predictions]
        auc = 100 * float(roc_auc_score(truth, probabilities)) if len(set(truth)) == 2 else None
        return [100 * p for p in probabilities], {"score": auc, "accuracy": 100 * fmean(hits), "count": len(hits),
                                                  "positive_class": self.positive}


@dataclass(frozen=True)
class BucketAccuracy:
    """FairFace: accuracy, and the population std of accuracy across race x gender buckets."""

    name: str = "accuracy"
    variant: str = "race_x_gender_buckets"
    bucket_keys: tuple[str, ...] = ("race", "gender")

    def score_all(self, predictions: Sequence[ClassScores], examples: Sequence[Example]) -> tuple[list[float], dict]:
        hits = _correct(predictions, examples)
        buckets: dict[str, list[float]] = defaultdict(list)
        for hit, example in zip(hits, examples):
            buckets[" x ".join(str(example.meta[key]) for key in self.bucket_keys)].append(hit)
        per_bucket = {name: 100 * fmean(values) for name, values in sorted(buckets.items())}
        return [100 * hit for hit in hits], {"score": 100 * fmean(hits), "count": len(hits),
                                             "bucket_std": pstdev(per_bucket.values()), "by_bucket": per_bucket}
