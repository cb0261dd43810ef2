"""The project's own regression check: the embedded trained model on the synthetic data, every task at
0 and 1 shots, reproduces the baseline committed in results/baselines/ (re-record it with
`evalkit regression --record` when a change of numbers is intended)."""

import json

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
    moved = sorted(key for key in baseline if ours.get(key) != baseline[key])
    assert not moved, f"{len(moved)} predictions moved, e.g. {moved[:3]}; re-record the baseline if intended"


def _predictions(folder) -> dict:
    lines = (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return {(r["task"], r["shots"], r["seed"], str(r["id"])): (r["prediction"], r["score"])
            for r in map(json.loads, lines)}
