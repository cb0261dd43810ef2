"""`evalkit compare BASE NEW`: a planted regression is flagged (exit 1, markdown report), an unchanged
run passes, noise and small drops do not fail, ROC-AUC is recomputed from the samples, and cells that
cannot be paired say so."""

import numpy as np
import pytest

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.report.compare import compare_runs, parse_tolerances
from evalkit.report.store import load_run
from fake_runs import scored_run

RNG = np.random.default_rng(11)
BASE_SCORES = list(100.0 * (RNG.random(200) < 0.7))


def vqa_run(folder, scores, label="model"):
    return scored_run(folder, label, "vqav2", "vqa_accuracy", {0: scores, 4: scores}, "VQAv2")


def test_a_planted_regression_fails_with_a_report(tmp_path, capsys):
    broken = list(BASE_SCORES)
    right = [i for i, score in enumerate(broken) if score == 100.0]
    for i in right[:40]:  # 40 of 200 answers turn wrong at 4 shots: -20 points
        broken[i] = 0.0
    base = vqa_run(tmp_path / "base", BASE_SCORES)
    new = scored_run(tmp_path / "new", "model", "vqav2", "vqa_accuracy", {0: BASE_SCORES, 4: broken}, "VQAv2")
    report = tmp_path / "ci" / "report.md"
    assert main(["compare", str(base), str(new), "--report", str(report), "--resamples", "500"]) == 1
    text = report.read_text(encoding="utf-8")
    assert text.startswith("## evalkit compare: FAIL (1 of 2 cells)")
    row = next(line for line in text.splitlines() if line.startswith("| vqav2 | VQA acc | 4 |"))
    assert "| -20.00 |" in row and "**regression**" in row and "| 200 |" in row
    assert "| vqav2 | VQA acc | 0 |" in text and "unchanged" in text
    assert capsys.readouterr().out.startswith(text)


def test_an_unchanged_run_passes(tmp_path):
    base, new = vqa_run(tmp_path / "base", BASE_SCORES), vqa_run(tmp_path / "new", BASE_SCORES)
    comparison = compare_runs(load_run(base), load_run(new), resamples=200)
    assert comparison.passed
    assert [c.status for c in comparison.cells] == ["unchanged", "unchanged"]
    assert main(["compare", str(base), str(new), "--resamples", "200"]) == 0


def test_one_flipped_answer_is_noise_and_a_small_significant_drop_is_within_tolerance(tmp_path):
    flipped = list(BASE_SCORES)
    flipped[BASE_SCORES.index(100.0)] = 0.0  # -0.5 points, on one sample
    cell = compare_runs(load_run(vqa_run(tmp_path / "b", BASE_SCORES)), load_run(vqa_run(tmp_path / "n", flipped)),
                        resamples=500).cells[0]
    assert (cell.status, cell.interval.delta) == ("within noise", pytest.approx(-0.5))
    # 6 answers wrong (-3 points) is significant, but within a 5-point tolerance; beyond the default 1 point.
    worse = [0.0 if i in [j for j, s in enumerate(BASE_SCORES) if s == 100.0][:6] else s
             for i, s in enumerate(BASE_SCORES)]
    runs = load_run(vqa_run(tmp_path / "b", BASE_SCORES)), load_run(vqa_run(tmp_path / "w", worse))
    assert compare_runs(*runs, parse_tolerances(["vqa_accuracy=5"]), resamples=500).cells[0].status == \
        "within tolerance"
    assert compare_runs(*runs, resamples=500).cells[0].status == "regression"


def test_change_mode_also_fails_on_an_improvement(tmp_path):
    better = [100.0] * len(BASE_SCORES)
    runs = load_run(vqa_run(tmp_path / "b", BASE_SCORES)), load_run(vqa_run(tmp_path / "n", better))
    assert compare_runs(*runs, resamples=300).passed
    assert compare_runs(*runs, resamples=300).cells[0].status == "improvement"
    assert not compare_runs(*runs, resamples=300, fail_on="change").passed


def test_roc_auc_is_recomputed_from_probabilities_and_gold_classes(tmp_path):
    labels = ["yes", "no"] * 50
    good = [80.0 if label == "yes" else 20.0 for label in labels]  # AUC 100
    bad = [30.0 + (i % 7) for i in range(100)]  # unrelated to the labels
    args = dict(task="hatefulmemes", metric="roc_auc", benchmark="HatefulMemes", references=labels,
                positive_class="yes")
    base = scored_run(tmp_path / "b", "m", per_shot={0: good}, **args)
    new = scored_run(tmp_path / "n", "m", per_shot={0: bad}, **args)
    cell = compare_runs(load_run(base), load_run(new), resamples=300).cells[0]
    from sklearn.metrics import roc_auc_score

    truth = [label == "yes" for label in labels]
    expected = 100 * (roc_auc_score(truth, bad) - roc_auc_score(truth, good))
    assert cell.interval.delta == pytest.approx(expected)
    assert cell.status == "regression"


def test_cells_that_cannot_be_paired_fail(tmp_path):
    base = scored_run(tmp_path / "b", "m", "coco", "cider", {0: [100.0, 50.0, 20.0]}, "COCO")
    fewer = scored_run(tmp_path / "n", "m", "coco", "cider", {0: [100.0, 50.0]}, "COCO")
    cell = compare_runs(load_run(base), load_run(fewer), resamples=200).cells[0]
    assert cell.status == "not comparable" and "1 samples only in BASE" in cell.notes[0]
    other = vqa_run(tmp_path / "v", BASE_SCORES)
    comparison = compare_runs(load_run(base), load_run(other), resamples=200)
    assert [c.status for c in comparison.cells] == ["missing in NEW", "only in NEW", "only in NEW"]
    assert not comparison.passed


def test_bad_tolerances_and_argument_counts_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(EvalkitError, match="METRIC=POINTS"):
        parse_tolerances(["cider"])
    assert parse_tolerances(["*=2", "cider=5"])["cider"] == 5.0
    assert main(["compare", str(vqa_run(tmp_path / "b", BASE_SCORES))]) == 2
    assert "give two run folders" in capsys.readouterr().err
