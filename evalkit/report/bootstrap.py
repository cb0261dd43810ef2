"""Paired bootstrap of the difference between two runs scored on the same samples.

Both runs' per-sample scores are aligned on the sample ids they share: `base` and `new` are matrices
with one row per trial seed and one column per shared id (the runs may have different seeds). Each
resample draws ids with replacement, the same ids for both runs, and recomputes the statistic on
each run (its mean over seeds of the per-seed statistic): the 2.5th and 97.5th percentiles of the
new - base differences are the 95% interval (percentile bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.stats import rankdata

# Resampled ids held in memory at once (resamples per chunk x ids).
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Interval:
    delta: float  # new - base on all shared samples
    low: float
    high: float
    resamples: int  # resamples the interval rests on (ROC-AUC drops those with one class only)
    level: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def mean_statistic(scores: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Mean score of each resample: `scores` is (seeds, resamples, ids) -> (resamples,)."""
    return scores.mean(axis=-1).mean(axis=0)


def roc_auc_statistic(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """ROC-AUC (x100) of each resample by the rank-sum formula with ties averaged (as scikit-learn);
    NaN where a resample holds a single class. `labels` is (resamples, ids) of 0/1."""
    positives = labels.sum(axis=-1)
    negatives = labels.shape[-1] - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        per_seed = []
        for seed_scores in scores:
            ranks = rankdata(seed_scores, axis=-1)
            rank_sum = (ranks * labels).sum(axis=-1)
            per_seed.append(100 * (rank_sum - positives * (positives + 1) / 2) / (positives * negatives))
        return np.mean(per_seed, axis=0)


Statistic = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


def paired_bootstrap(base: np.ndarray, new: np.ndarray, statistic: Statistic = mean_statistic,
                     labels: np.ndarray | None = None, resamples: int = 2000, level: float = 0.95,
                     seed: int = 0) -> Interval:
    """The difference new - base of `statistic` and its percentile interval over paired resamples.

    `base`, `new`: (seeds, ids) per-sample scores on the same ids in the same column order;
    `labels`: the ids' 0/1 classes, for statistics that need them (ROC-AUC).
    """
    base, new = np.atleast_2d(np.asarray(base, float)), np.atleast_2d(np.asarray(new, float))
    count = base.shape[1]
    if new.shape[1] != count or count == 0:
        raise ValueError("base and new must score the same, non-empty set of samples")
    label_array = None if labels is None else np.asarray(labels, float)

    def difference(ids: np.ndarray) -> np.ndarray:
        chosen = None if label_array is None else label_array[ids]
        return statistic(new[:, ids], chosen) - statistic(base[:, ids], chosen)

    delta = float(difference(np.arange(count)[None, :])[0])
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // count)
    draws = []
    for start in range(0, resamples, chunk):
        ids = rng.integers(0, count, size=(min(chunk, resamples - start), count))
        draws.append(difference(ids))
    differences = np.concatenate(draws)
    differences = differences[~np.isnan(differences)]
    if differences.size == 0:
        return Interval(delta, float("nan"), float("nan"), 0, level)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Interval(delta, float(low), float(high), int(differences.size), level)


@dataclass(frozen=True)
class Spread:
    """One run's score over resampled queries: standard error and percentile interval."""

    se: float
    low: float
    high: float
    resamples: int  # resamples the figures rest on (ROC-AUC drops those with one class only)


def bootstrap_spread(scores: np.ndarray, statistic: Statistic = mean_statistic, labels: np.ndarray | None = None,
                     resamples: int = 1000, level: float = 0.95, seed: int = 0) -> Spread:
    """`statistic` of per-query `scores` (ids,) over `resamples` seeded resamples of the queries."""
    values = np.atleast_2d(np.asarray(scores, float))
    count = values.shape[1]
    if count == 0 or resamples < 1:
        raise ValueError("bootstrap needs at least one query and one resample")
    label_array = None if labels is None else np.asarray(labels, float)
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // count)
    draws = []
    for start in range(0, resamples, chunk):
        ids = rng.integers(0, count, size=(min(chunk, resamples - start), count))
        draws.append(statistic(values[:, ids], None if label_array is None else label_array[ids]))
    statistics = np.concatenate(draws)
    statistics = statistics[~np.isnan(statistics)]
    if statistics.size < 2:
        return Spread(float("nan"), float("nan"), float("nan"), int(statistics.size))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(statistics, [tail, 100 - tail])
    return Spread(float(statistics.std(ddof=1)), float(low), float(high), int(statistics.size))
