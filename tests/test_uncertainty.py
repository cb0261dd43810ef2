"""Bootstrap standard errors and intervals of one setting's score (evalkit/metrics/uncertainty.py)."""

import math
from types import SimpleNamespace

from evalkit.metrics.uncertainty import score_interval, setting_interval


def test_mean_score_se_matches_the_binomial_formula():
    scores = [100.0, 0.0, 100.0, 100.0] * 25  # p = 0.75 over 100 queries
    interval = score_interval(scores, "vqa_accuracy", resamples=4000)
    analytic = 100 * math.sqrt(0.75 * 0.25 / 100)  # 4.33 points
    assert abs(interval["se"] - analytic) < 0.1 * analytic
    assert interval["low"] < 75.0 < interval["high"]
    # A 95% interval spans about 2 x 1.96 standard errors.
    assert abs((interval["high"] - interval["low"]) - 2 * 1.96 * analytic) < 0.2 * 2 * 1.96 * analytic
    assert interval["resamples"] == 4000 and interval["seed"] == 0 and interval["level"] == 0.95


def test_seeded_and_deterministic():
    scores = [100.0, 0.0, 100.0, 100.0]
    assert score_interval(scores, "accuracy", resamples=500) == score_interval(scores, "accuracy", resamples=500)
    assert score_interval(scores, "accuracy", resamples=500) != score_interval(scores, "accuracy", resamples=500,
                                                                               seed=1)


def test_constant_scores_have_no_spread():
    interval = score_interval([50.0] * 10, "accuracy", resamples=200)
    assert interval["se"] == 0 and interval["low"] == interval["high"] == 50.0


def test_off_or_unscored_gives_none():
    assert score_interval([100.0, 0.0], "accuracy", resamples=0) is None
    assert score_interval([100.0, None], "accuracy", resamples=100) is None


def test_roc_auc_is_recomputed_per_resample():
    # P(yes) separates the classes perfectly: every resample with both classes has ROC-AUC 100.
    metric = SimpleNamespace(name="roc_auc", positive="yes")
    queries = [SimpleNamespace(references=[label]) for label in ["yes", "no"] * 10]
    scores = [90.0 if q.references[0] == "yes" else 10.0 for q in queries]
    interval = setting_interval(metric, queries, scores, 300)
    assert interval["low"] == interval["high"] == 100.0 and interval["se"] == 0
    # Mixed: the interval holds the whole-set ROC-AUC (75: 3 of 4 positive-negative pairs ordered).
    queries = [SimpleNamespace(references=[label]) for label in ["yes", "no", "yes", "no"] * 10]
    scores = [80.0, 20.0, 30.0, 40.0] * 10
    interval = setting_interval(metric, queries, scores, 1000)
    assert interval["low"] < 75.0 < interval["high"] and interval["se"] > 0
    # One class only: no ROC-AUC, no interval.
    assert setting_interval(metric, queries[::2], scores[::2], 100) is None


def _result(per_seed: dict) -> dict:
    scores = [a["score"] for a in per_seed.values()]
    entry = {"mean": sum(scores) / len(scores), "std": 2.0 if len(scores) > 1 else 0.0, "num_seeds": len(scores),
             "per_seed": per_seed}
    return {"model": {"model": "m"}, "tasks": {"vqav2": {"metric": "vqa_accuracy", "metric_variant": "v",
                                                          "shots": {"0": entry}}}}


def test_table_shows_the_se_of_one_seed_and_the_std_of_several():
    from evalkit.report.table import PLUS_MINUS_LEGEND, results_table

    interval = {"se": 1.104, "low": 69.0, "high": 73.4, "level": 0.95, "resamples": 1000, "seed": 0}
    one = results_table([_result({"0": {"score": 71.234, "interval": interval}})])
    assert "| m | vqav2 | vqa_accuracy (v) | 71.23 ± 1.10 |" in one and PLUS_MINUS_LEGEND in one
    several = results_table([_result({"0": {"score": 70.0, "interval": interval}, "1": {"score": 74.0}})])
    assert "| 72.00 ± 2.00 |" in several
    off = results_table([_result({"0": {"score": 71.234}})])  # --bootstrap 0: no interval, no ±
    assert "| 71.23 |" in off and "±" not in off
