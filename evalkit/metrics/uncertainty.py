"""The uncertainty of one setting's score over its queries (results.json `interval` of each seed).

A percentile bootstrap over queries (evalkit/report/bootstrap.py), seeded so a run is reproducible.
Mean metrics resample the per-query scores. ROC-AUC is recomputed on each resample from the per-query
P(positive) and the gold classes (resamples holding one class only are dropped). Corpus CIDEr: the
per-image CIDEr are computed with the idf of the whole query set and their mean is the corpus CIDEr, so
resampling them keeps that idf fixed (as `evalkit compare` does).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from evalkit.report.bootstrap import bootstrap_spread, mean_statistic, roc_auc_statistic

BOOTSTRAP_SEED = 0
LEVEL = 0.95


def score_interval(scores: Sequence[float | None], metric: str, positives: Sequence[bool] | None = None,
                   resamples: int = 1000, seed: int = BOOTSTRAP_SEED) -> dict[str, Any] | None:
    """{se, low, high, level, resamples, seed} of a setting's score; None when off (resamples 0) or
    when a query is unscored. `positives`: each query's gold class is the positive one (ROC-AUC)."""
    if resamples <= 0 or not scores or any(score is None for score in scores):
        return None
    statistic, labels = mean_statistic, None
    if metric == "roc_auc":
        if positives is None or len(set(positives)) < 2:
            return None
        statistic, labels = roc_auc_statistic, np.array(positives, bool)
    spread = bootstrap_spread(np.array(scores, float), statistic, labels, resamples, LEVEL, seed)
    if math.isnan(spread.se):
        return None
    return {"se": spread.se, "low": spread.low, "high": spread.high, "level": LEVEL,
            "resamples": spread.resamples, "seed": seed}


def setting_interval(metric: Any, queries: Sequence[Any], scores: Sequence[float | None],
                     resamples: int) -> dict[str, Any] | None:
    """score_interval of a setting scored by `metric` (its positive class, if any, marks ROC-AUC's labels)."""
    positive = getattr(metric, "positive", None)
    positives = [query.references[0] == positive for query in queries] if positive is not None else None
    return score_interval(scores, metric.name, positives, resamples)
