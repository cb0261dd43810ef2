"""VQA accuracy against values computed by hand from the official evaluator's rules."""

import pytest

from evalkit.metrics.vqa import VQAAccuracy, vqa_accuracy
from evalkit.metrics.vqa_normalize import normalize_answer, strip_punctuation
from evalkit.types import Example, FileImage


def test_unanimous_answers_are_not_normalised():
    assert vqa_accuracy("yes", ["yes"] * 10) == 1.0
    assert vqa_accuracy("Yes", ["yes"] * 10) == 0.0  # no lower-casing when all 10 agree
    assert vqa_accuracy("yes.", ["yes"] * 10) == 0.0
    assert vqa_accuracy("two", ["2"] * 10) == 0.0


def test_whitespace_is_always_cleaned():
    assert vqa_accuracy("\n yes \t", ["yes"] * 10) == 1.0


def test_number_words_become_digits_when_answers_differ():
    assert vqa_accuracy("two", ["2"] * 9 + ["two"]) == 1.0
    assert vqa_accuracy("Two.", ["2"] * 9 + ["two"]) == 1.0


def test_articles_are_dropped():
    assert vqa_accuracy("a dog", ["the dog"] * 5 + ["dog"] * 5) == 1.0


def test_comma_between_digits():
    assert strip_punctuation("1,000") == "1000"
    assert vqa_accuracy("1,000", ["1,000"] * 4 + ["1000"] * 6) == 1.0


def test_punctuation_next_to_space_vanishes_otherwise_becomes_space():
    assert strip_punctuation("red, white") == "red white"
    assert strip_punctuation("red,white") == "red white"
    assert strip_punctuation("black/white") == "black white"
    assert strip_punctuation("yes.") == "yes"
    assert strip_punctuation("3.5") == "3.5"  # a period before a digit stays


def test_contractions_are_restored():
    assert normalize_answer("dont") == "don't"
    assert vqa_accuracy("dont", ["dont"] * 3 + ["don't"] * 7) == 1.0


@pytest.mark.parametrize("matching, expected", [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)])
def test_leave_one_out_over_matching_annotators(matching, expected):
    # k annotators said "cat": each of the 10 leave-one-out subsets scores min(1, matches/3).
    # k=1: 9 subsets see 1 match -> 9 * 1/3 / 10 = 0.3; k=2: (2 * 1/3 + 8 * 2/3) / 10 = 0.6;
    # k=3: (3 * 2/3 + 7 * 1) / 10 = 0.9; k=4: every subset sees >= 3 matches.
    answers = ["cat"] * matching + ["dog"] * (10 - matching)
    assert vqa_accuracy("cat", answers) == pytest.approx(expected)


def _example(qid, answers, answer_type):
    return Example(qid, FileImage(__file__), {"question": "?"}, answers,
                   {"answer_type": answer_type, "question_type": "what"})


def test_aggregate_is_percent_with_answer_type_breakdown():
    metric = VQAAccuracy()
    examples = [_example(1, ["yes"] * 10, "yes/no"), _example(2, ["2"] * 10, "number"),
                _example(3, ["cat"] * 2 + ["dog"] * 8, "other")]
    predictions = ["yes", "3", "cat"]
    scores = [metric.score(p, e) for p, e in zip(predictions, examples)]
    aggregate = metric.aggregate(scores, examples)
    assert aggregate["score"] == pytest.approx(100 * (1.0 + 0.0 + 0.6) / 3)
    assert aggregate["by_answer_type"] == pytest.approx({"number": 0.0, "other": 60.0, "yes/no": 100.0})
    assert aggregate["count"] == 3


def _written_out_accuracy(prediction: str, answers: list[str]) -> float:
    """The official evaluator's per-question loop, spelled out without any memo or counting:
    clean, normalise both sides when the 10 answers differ, 10 leave-one-out subsets."""
    answers = [a.replace("\n", " ").replace("\t", " ").strip() for a in answers]
    prediction = prediction.replace("\n", " ").replace("\t", " ").strip()
    if len(set(answers)) > 1:
        answers = [normalize_answer(a) for a in answers]
        prediction = normalize_answer(prediction)
    subsets = []
    for left_out in range(len(answers)):
        others = answers[:left_out] + answers[left_out + 1:]
        subsets.append(min(1.0, sum(1 for a in others if a == prediction) / 3))
    return sum(subsets) / len(subsets)


def test_scoring_a_whole_split_gives_each_questions_own_score(tmp_path):
    """score_all normalises each distinct string once and counts matches: per question, the same
    score as the evaluator's loop, on VQAv2-like answers that recur in many spellings."""
    from evalkit.registry import get_task
    from evalkit.synthetic.vqav2 import write_vqav2_val_at_scale

    predictions = write_vqav2_val_at_scale(tmp_path, questions=3000, seed=1, vocabulary=300)
    examples = get_task("vqav2").data.load(str(tmp_path), "query")
    answers = [p["answer"] for p in predictions]
    scores, aggregate = VQAAccuracy().score_all(answers, examples)
    expected = [100 * _written_out_accuracy(p, e.references) for p, e in zip(answers, examples)]
    assert scores == pytest.approx(expected, abs=1e-10)
    assert {0.0, 100.0} < {round(s, 3) for s in scores}  # full, partial and no credit all occur
    assert sum(1 for p, e in zip(answers, examples) if p not in e.references and vqa_accuracy(p, e.references)) > 100
    assert aggregate["score"] == pytest.approx(sum(expected) / len(expected))
