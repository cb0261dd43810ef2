"""VisDial NDCG: how well the ranking of a round's answer options follows their dense relevance.

A prediction is {option: score} for one densely annotated round; the example carries the round's
options (`meta["choices"]`) and their relevance in [0, 1] (`meta["relevance"]`, aligned). Both rules use
linear gains and log2 discounts (`sklearn.metrics.ndcg_score`, ties averaged), mean over rounds, x100:

- `official`: the VisDial starter code's NDCG@k, k = the number of options with non-zero relevance in
  that round (batra-mlp-lab/visdial-challenge-starter-pytorch, visdialch/metrics.py);
- `m4`: NDCG over the whole list of options (sklearn's default k), what m4's classification metrics
  computed and what the IDEFICS card most likely reports; far higher for the same ranking.

Every aggregate carries both (`ndcg_official`, `ndcg_whole_list`); `score` is the variant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean
from typing import Any, Mapping, Sequence

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.types import Example

VARIANTS = ("official", "m4")


def round_ndcg(relevance: Sequence[float], scores: Sequence[float], whole_list: bool) -> float:
    """NDCG of one round, in [0, 1]: at k = the number of relevant options, or over every option.
    A round with no relevant option scores 0 (sklearn's convention)."""
    from sklearn.metrics import ndcg_score

    relevant = int(np.count_nonzero(relevance))
    if relevant == 0:
        return 0.0
    return float(ndcg_score([list(relevance)], [list(scores)], k=None if whole_list else relevant))


@dataclass(frozen=True)
class NDCG:
    name: str = "ndcg"
    variant: str = "official"

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"NDCG variant must be one of {', '.join(VARIANTS)}")

    def score_all(self, predictions: Sequence[Mapping[str, float]],
                  examples: Sequence[Example]) -> tuple[list[float], dict[str, Any]]:
        if not examples:
            raise EvalkitError("no predictions to score")
        official, whole = [], []
        for scores, example in zip(predictions, examples):
            options, relevance = example.meta["choices"], example.meta["relevance"]
            ranked_scores = [scores[option] for option in options]  # repeated option texts share a score
            official.append(100 * round_ndcg(relevance, ranked_scores, whole_list=False))
            whole.append(100 * round_ndcg(relevance, ranked_scores, whole_list=True))
        chosen = whole if self.variant == "m4" else official
        without = sum(1 for example in examples if not any(example.meta["relevance"]))
        return chosen, {"score": fmean(chosen), "count": len(chosen), "ndcg_official": fmean(official),
                        "ndcg_whole_list": fmean(whole), "rounds_without_relevant_option": without,
                        "published_note": self._note(fmean(whole))}

    def _note(self, whole: float) -> str:
        if self.variant == "m4":
            return ("m4's dataset builder took every dialog's round from the first dense annotation; here each "
                    "dialog keeps its own annotated round")
        return f"the card most likely used m4's whole-list NDCG (--metric-variant m4): {whole:.1f} here"
