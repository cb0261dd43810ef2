"""results_frame: results.json documents as a pandas DataFrame (evalkit/report/frame.py)."""

import math

from evalkit.report.frame import FRAME_COLUMNS, results_frame


def test_one_row_per_model_task_and_shots():
    interval = {"se": 1.1, "low": 69.0, "high": 73.4, "level": 0.95, "resamples": 1000, "seed": 0}
    result = {"model": {"model": "m"}, "tasks": {
        "vqav2": {"metric": "vqa_accuracy", "metric_variant": "v", "shots": {
            "0": {"mean": 71.2, "std": 0.0, "num_seeds": 1, "per_seed": {"0": {"score": 71.2, "interval": interval}}},
            "4": {"mean": 72.0, "std": 2.0, "num_seeds": 2,
                  "per_seed": {"0": {"score": 70.0}, "1": {"score": 74.0}}}}}}}
    frame = results_frame([result, {**result, "label": "other"}])
    assert tuple(frame.columns) == FRAME_COLUMNS and len(frame) == 4
    first = frame.iloc[0]
    assert (first["model"], first["task"], first["shots"], first["seeds"]) == ("m", "vqav2", 0, 1)
    assert (first["mean"], first["se"], first["ci_low"], first["ci_high"]) == (71.2, 1.1, 69.0, 73.4)
    assert math.isnan(first["std"])  # one seed: no spread over seeds
    second = frame.iloc[1]
    assert second["std"] == 2.0 and math.isnan(second["se"])  # several seeds: std, no single-seed interval
    assert list(frame["model"]) == ["m", "m", "other", "other"]
