"""The project's own regression check: the embedded trained model on the synthetic data, every task at
0 and 1 shots, reproduces the baseline committed in results/baselines/ (re-record it with
`evalkit regression --record` when a change of numbers is intended)."""

import json
import math

import pytest

from evalkit.registry import all_tasks
from evalkit.regression import BASELINE, REPORT_FILE, check_against_baseline
from evalkit.report.store import load_run


def allowed(task: str) -> set[str]:
    """0 and 1 shots, as far as the task's protocol allows (Winoground: 0 only)."""
    return {str(k) for k in all_tasks()[task].allowed_shots([0, 1])}


def test_the_baseline_covers_every_task_at_0_and_1_shots():
    baseline = load_run(BASELINE)
    assert baseline.finished
    assert set(baseline.tasks) == set(all_tasks()), "a task was added or removed: re-record the baseline"
    assert all(set(task["shots"]) == allowed(name) for name, task in baseline.tasks.items())


def test_the_embedded_model_reproduces_the_committed_baseline(synthetic_data, tmp_path):
    comparison = check_against_baseline(BASELINE, output=tmp_path / "run", data=synthetic_data)
    report = (tmp_path / "run" / REPORT_FILE).read_text(encoding="utf-8")
    assert comparison.passed, "\n" + report
    assert len(comparison.cells) == sum(len(allowed(name)) for name in all_tasks())
    assert all(cell.samples == 6 for cell in comparison.cells), report
    # The offline run is deterministic: any moved answer or per-sample score is a change in prompts,
    # data loading, inference or metrics, even one too small for the statistical check to flag.
    ours, baseline = _predictions(tmp_path / "run"), _predictions(BASELINE)
    moved = sorted(key for key in baseline if not _same(ours.get(key), baseline[key]))
    assert not moved, f"{len(moved)} predictions moved, e.g. {moved[:3]}; re-record the baseline if intended"


# float32 kernels round differently on different CPUs (AVX2, AVX-512): with the same packages, a Hateful
# Memes P(yes) x100 moved by 1e-7 between the machine that recorded the baseline and another.
SCORE_NOISE = 1e-4


def _same(ours: tuple | None, recorded: tuple) -> bool:
    """The same prediction, and the same per-sample score up to the CPUs' rounding."""
    if ours is None or ours[0] != recorded[0]:
        return False
    if isinstance(ours[1], float) and isinstance(recorded[1], float):
        return math.isclose(ours[1], recorded[1], rel_tol=0, abs_tol=SCORE_NOISE)
    return ours[1] == recorded[1]


def _predictions(folder) -> dict:
    lines = (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return {(r["task"], r["shots"], r["seed"], str(r["id"])): (r["prediction"], r["score"])
            for r in map(json.loads, lines)}


def test_per_sample_scores_are_on_the_scale_of_the_tables():
    """`compare`, the regression check and the report read per-sample scores as points of the table:
    wherever the aggregate is a mean (every metric but ROC-AUC), it is the mean of the samples' scores
    in a real run (VQA accuracy per sample was 0-1 against a 0-100 aggregate, so a 66.67 -> 0 drop
    compared as -0.67)."""
    baseline = load_run(BASELINE)
    by_setting: dict[tuple, list[float]] = {}
    for line in (BASELINE / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_setting.setdefault((record["task"], str(record["shots"]), str(record["seed"])), []).append(record["score"])
    checked, expected = 0, 0
    for task, entry in baseline.tasks.items():
        if entry["metric"] == "roc_auc":
            continue
        expected += sum(len(shot_entry["per_seed"]) for shot_entry in entry["shots"].values())
        for shots, shot_entry in entry["shots"].items():
            for seed, aggregate in shot_entry["per_seed"].items():
                assert math.fsum(by_setting[(task, shots, seed)]) / len(by_setting[(task, shots, seed)]) == \
                    pytest.approx(aggregate["score"], abs=1e-9), (task, shots, seed)
                checked += 1
    assert checked == expected >= len(baseline.tasks) - 1
