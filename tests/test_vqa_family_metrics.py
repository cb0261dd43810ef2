"""Where the official rule sets of VQAv2, TextVQA, VizWiz and OpenFlamingo's evaluator disagree,
each gives the score its evaluator gives (worked out by hand)."""

import pytest

from evalkit.metrics.vqa import RULES, VQAAccuracy, answerability, vqa_accuracy
from evalkit.metrics.vqa_normalize import normalize_textvqa_answer
from evalkit.types import Example, FileImage


def score(rules: str, prediction: str, answers: list[str], records=None) -> float:
    return vqa_accuracy(prediction, answers, RULES[rules], records)


@pytest.mark.parametrize("rules, expected", [("vqav2", 0.0), ("textvqa", 1.0), ("vizwiz", 1.0), ("openflamingo", 1.0)])
def test_capitalised_prediction_against_unanimous_answers(rules, expected):
    # VQAv2 normalises nothing when all 10 agree; the others always normalise the prediction.
    assert score(rules, "Yes", ["yes"] * 10) == expected


@pytest.mark.parametrize("rules, expected", [("vqav2", 0.0), ("textvqa", 1.0), ("vizwiz", 0.0), ("openflamingo", 1.0)])
def test_capitalised_answers(rules, expected):
    # VizWiz never normalises the ground truth, so "Dakota" stays unmatched by "dakota".
    assert score(rules, "dakota", ["Dakota"] * 10) == expected


def test_textvqa_tokenisation_drops_commas_where_vqa_makes_spaces():
    answers = ["helloworld"] * 3 + ["x"] * 7
    assert normalize_textvqa_answer("Hello,World?") == "helloworld"
    assert score("textvqa", "hello,world", answers) == pytest.approx(0.9)
    assert score("vqav2", "hello,world", answers) == 0.0  # "hello world"
    assert normalize_textvqa_answer("McDonald's") == "mcdonald 's"


def test_openflamingo_leaves_identical_records_out_together():
    answers = ["red"] * 3 + ["blue"] * 7
    no_ids = [("yes", None)] * 10
    # Leaving out one "red" drops all three identical records: those 3 subsets score 0, the 7 others 1.
    assert score("openflamingo", "red", answers, no_ids) == pytest.approx(0.7)
    assert score("vizwiz", "red", answers, no_ids) == pytest.approx(0.9)  # by position
    with_ids = [("yes", i) for i in range(1, 11)]
    assert score("openflamingo", "red", answers, with_ids) == pytest.approx(0.9)
    mixed = [("yes", None), ("yes", None), ("maybe", None)] + [("yes", None)] * 7
    # yes-reds left out: 1 match (1/3) twice; the maybe-red: 2 matches (2/3); blues: 1 each.
    assert score("openflamingo", "red", answers, mixed) == pytest.approx((2 / 3 + 2 / 3 + 7) / 10)


def test_vizwiz_answerability_average_precision_and_f1():
    examples = [Example(i, FileImage(__file__), {}, ["x"] * 10, {"answerable": a}) for i, a in enumerate([1, 0, 0, 1])]
    figures = answerability(["unanswerable", "Unanswerable.", "red", "blue"], examples)
    # predicted unanswerable [1, 1, 0, 0] vs truth [0, 1, 1, 0]: precision 1/2, recall 1/2.
    assert figures["unanswerable_f1"] == pytest.approx(50.0)
    assert figures["unanswerable_average_precision"] == pytest.approx(50.0)


def test_variant_names_are_recorded():
    assert VQAAccuracy("textvqa").variant == "textvqa"
    assert VQAAccuracy("openflamingo", prediction_transform=str.lower, transform_name="okvqa-stem").variant == \
        "openflamingo+okvqa-stem"


def test_okvqa_stemming_variant_says_what_is_missing():
    from evalkit.errors import EvalkitError
    from evalkit.metrics import okvqa_stem

    try:
        import nltk  # noqa: F401
    except ImportError:
        with pytest.raises(EvalkitError, match="pip install nltk inflection"):
            okvqa_stem.stem_okvqa("riding horses")
    assert okvqa_stem.MANUAL_STEMS["riding"] == "ride" and okvqa_stem.MANUAL_STEMS["leaves"] == "leaf"


# ---- the VizWiz evaluator, rule by rule (it leaves answers out by position) ----------------------

def test_vizwiz_compares_with_the_answers_exactly_as_written():
    # The prediction is cleaned (newline/tab to space, ends stripped); the answers are not.
    assert score("vizwiz", "\nred\t", ["red"] * 10) == 1.0
    assert score("vizwiz", "red", [" red"] * 10) == 0.0
    assert score("vizwiz", "red", ["red\n"] * 3 + ["red"] * 7) == 1.0  # 7 exact matches remain
    assert score("vizwiz", "red", ["red\n"] * 8 + ["red"] * 2) == pytest.approx(0.6)  # 2 matches: (2 x 1/3 + 8 x 2/3) / 10
    assert score("vqav2", "red", [" red"] * 10) == 1.0  # VQAv2 cleans both sides


def test_vizwiz_restores_most_contractions_with_a_curly_apostrophe():
    curly = "don\u2019t"
    assert score("vizwiz", "dont", [curly] * 10) == 1.0
    assert score("vizwiz", "dont", ["don't"] * 10) == 0.0  # the straight spelling is never produced
    assert score("vqav2", "dont", ["don't"] * 9 + ["x"]) == 1.0  # VQAv2 restores the straight one
    assert score("vizwiz", "doesnt", ["doesn\u2019t"] * 10) == 1.0


@pytest.mark.parametrize("prediction, restored", [("cant", "can't"), ("weve", "we've"), ("wheres", "where's"),
                                                  ("whove", "who've")])
def test_vizwiz_keeps_a_few_straight_apostrophes(prediction, restored):
    assert score("vizwiz", prediction, [restored] * 10) == 1.0
    assert score("vizwiz", prediction, [restored.replace("'", "\u2019")] * 10) == 0.0


def test_vizwiz_looks_contractions_up_by_their_curly_spelling():
    # "he’dve" (curly) is in the table and becomes "he’d’ve"; the straight "he'dve" is not and stays.
    assert score("vizwiz", "he\u2019dve", ["he\u2019d\u2019ve"] * 10) == 1.0
    assert score("vizwiz", "he'dve", ["he'dve"] * 10) == 1.0
    assert score("vizwiz", "he'dve", ["he\u2019d\u2019ve"] * 10) == 0.0
    # Two keys keep the straight apostrophe: "couldn'tve" -> "couldn’t’ve".
    assert score("vizwiz", "couldn'tve", ["couldn\u2019t\u2019ve"] * 10) == 1.0
