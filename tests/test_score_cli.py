"""`evalkit score` on a hand-made VQAv2 folder, with accuracies worked out by hand."""

import json
from pathlib import Path

import pytest

from evalkit.cli import main


def answers(*texts: str) -> list[dict]:
    return [{"answer": t, "answer_confidence": "yes", "answer_id": i + 1} for i, t in enumerate(texts)]


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """Three val2014 questions: unanimous 'yes', 2 of 10 say 'cat', 9 say '2' and one says 'two'."""
    questions = [{"image_id": 1, "question": "Is it?", "question_id": 10},
                 {"image_id": 1, "question": "What animal?", "question_id": 11},
                 {"image_id": 2, "question": "How many?", "question_id": 20}]
    annotations = [
        {"question_id": 10, "image_id": 1, "answer_type": "yes/no", "question_type": "is it",
         "multiple_choice_answer": "yes", "answers": answers(*["yes"] * 10)},
        {"question_id": 11, "image_id": 1, "answer_type": "other", "question_type": "what animal",
         "multiple_choice_answer": "dog", "answers": answers(*(["cat"] * 2 + ["dog"] * 8))},
        {"question_id": 20, "image_id": 2, "answer_type": "number", "question_type": "how many",
         "multiple_choice_answer": "2", "answers": answers(*(["2"] * 9 + ["two"]))},
    ]
    (tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json").write_text(json.dumps({"questions": questions}))
    (tmp_path / "v2_mscoco_val2014_annotations.json").write_text(json.dumps({"annotations": annotations}))
    return tmp_path


def score(data_dir: Path, predictions: list, *extra: str) -> int:
    path = data_dir / "predictions.json"
    path.write_text(json.dumps(predictions))
    return main(["score", "--task", "vqav2", "--predictions", str(path), "--data-dir", str(data_dir), *extra])


def test_score_matches_hand_computed_accuracy(data_dir, capsys):
    predictions = [{"question_id": 10, "answer": "Yes"},   # unanimous: no lower-casing -> 0
                   {"question_id": 11, "answer": "cat"},   # 2 of 10 -> 0.6
                   {"question_id": 20, "answer": "Two"}]   # normalised to 2 -> 1.0
    assert score(data_dir, predictions, "--output", str(data_dir / "out")) == 0
    printed = capsys.readouterr().out
    assert "53.33" in printed  # 100 * (0 + 0.6 + 1) / 3
    results = json.loads((data_dir / "out" / "results.json").read_text())
    aggregate = results["tasks"]["vqav2"]["shots"]["0"]["per_seed"]["-"]
    assert aggregate["score"] == pytest.approx(160 / 3)
    assert aggregate["by_answer_type"] == pytest.approx({"number": 100.0, "other": 60.0, "yes/no": 0.0})


def test_missing_questions_are_refused_unless_subset(data_dir, capsys):
    partial = [{"question_id": 20, "answer": "2"}]
    assert score(data_dir, partial) == 2
    error = capsys.readouterr().err
    assert "2 of 3 questions have no prediction" in error and "--subset" in error
    assert score(data_dir, partial, "--subset") == 0
    assert "100.00" in capsys.readouterr().out


def test_unknown_question_is_refused(data_dir, capsys):
    assert score(data_dir, [{"question_id": 99, "answer": "x"}], "--subset") == 2
    assert "unknown ids, e.g. 99" in capsys.readouterr().err


@pytest.mark.parametrize("predictions, message", [
    ({"question_id": 10}, "expected a JSON list"),
    ([{"question_id": 10}], "[answer]: record 0 has no field"),
    ([{"question_id": 10, "answer": 3}], "the answer is not a string"),
    ([{"question_id": 10, "answer": "a"}, {"question_id": 10, "answer": "b"}], "duplicate question_id 10"),
])
def test_malformed_predictions(data_dir, capsys, predictions, message):
    assert score(data_dir, predictions) == 2
    assert message in capsys.readouterr().err
