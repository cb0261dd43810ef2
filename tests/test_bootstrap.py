"""The paired bootstrap: its 95% interval brackets the true difference about 95% of the time on data
whose difference is known, shrinks to [0, 0] for identical runs, and its ROC-AUC is scikit-learn's."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from evalkit.report.bootstrap import paired_bootstrap, roc_auc_statistic


def test_interval_brackets_the_true_difference_about_95_percent_of_the_time():
    # Each sample: right in BASE with p 0.7; NEW flips a right answer to wrong with p 0.2 and a wrong one
    # to right with p 0.1, so the true mean difference is 100 * (0.3 * 0.1 - 0.7 * 0.2) = -11 points.
    rng = np.random.default_rng(7)
    true_difference = 100 * (0.3 * 0.1 - 0.7 * 0.2)
    trials, covered = 200, 0
    for trial in range(trials):
        base = (rng.random(300) < 0.7).astype(float)
        flip = np.where(base == 1, rng.random(300) < 0.2, rng.random(300) < 0.1)
        new = np.where(flip, 1 - base, base)
        interval = paired_bootstrap(100 * base, 100 * new, resamples=400, seed=trial)
        covered += interval.low <= true_difference <= interval.high
        assert interval.low <= interval.delta <= interval.high
    assert 0.90 <= covered / trials <= 0.99


def test_a_large_planted_difference_excludes_zero_and_identical_runs_give_zero():
    rng = np.random.default_rng(0)
    base = 100 * (rng.random(500) < 0.6)
    worse = np.where(rng.random(500) < 0.3, 0.0, base)
    interval = paired_bootstrap(base, worse)
    assert interval.high < 0 and interval.delta == pytest.approx((worse - base).mean())
    same = paired_bootstrap(base, base.copy())
    assert (same.delta, same.low, same.high) == (0.0, 0.0, 0.0)


def test_seeds_are_averaged_and_runs_may_have_different_seed_counts():
    base = np.array([[0.0, 100.0, 100.0, 0.0], [100.0, 100.0, 0.0, 0.0]])  # 2 seeds: means 50, 50
    new = np.array([[100.0, 100.0, 100.0, 100.0]])
    assert paired_bootstrap(base, new).delta == pytest.approx(50.0)


def test_roc_auc_statistic_is_scikit_learns_with_ties():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 80)
    scores = np.round(rng.random(80), 1)  # many ties
    ours = roc_auc_statistic(scores[None, None, :], labels[None, :].astype(float))
    assert ours[0] == pytest.approx(100 * roc_auc_score(labels, scores))


def test_roc_auc_difference_and_single_class_resamples():
    labels = np.array([1, 0, 1, 0])
    base = np.array([0.9, 0.1, 0.8, 0.2])  # AUC 100
    new = np.array([0.4, 0.6, 0.3, 0.7])  # AUC 0
    # 1 resample in 8 holds a single class (2 x 0.5 ** 4)
    interval = paired_bootstrap(base, new, roc_auc_statistic, labels, resamples=300)
    assert interval.delta == pytest.approx(-100.0)
    assert interval.resamples < 300  # resamples holding one class only have no AUC and are left out
    assert interval.high == pytest.approx(-100.0)
