"""The four last card columns' metrics against hand arithmetic: VisDial NDCG (official at k = relevant
options vs m4's whole list), Winoground text/image/group (and m4's swapped labels) on a hand-made
score table, ScienceQA breakdowns, whole-sequence scores, and the card's composite Winoground cells."""

import math
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.metrics.classification import Accuracy
from evalkit.metrics.ndcg import NDCG
from evalkit.metrics.winoground import WinogroundScores
from evalkit.models.base import ContinuationScore
from evalkit.report.published import composite
from evalkit.scoring import choice_score
from evalkit.types import Example, FileImage

IMAGE = FileImage(Path("x.png"))


def visdial_round(relevance: list[float]) -> Example:
    options = tuple("ABCDE"[: len(relevance)])
    return Example(len(relevance), IMAGE, {}, ["A"], {"choices": options, "relevance": relevance})


def test_ndcg_official_cuts_at_the_relevant_options_whole_list_does_not():
    # Options A..E with relevance 1, 0.5, 0, 0, 0 (k = 2); the model ranks C, A, B, D, E.
    round_ = visdial_round([1.0, 0.5, 0.0, 0.0, 0.0])
    scores = {"C": -1.0, "A": -2.0, "B": -3.0, "D": -4.0, "E": -5.0}
    ideal = 1 + 0.5 / math.log2(3)  # 1.3155: A then B
    # Official: DCG@2 = 0/log2(2) + 1/log2(3) = 0.6309 -> 0.4796.
    official = (1 / math.log2(3)) / ideal
    # Whole list: DCG = 0 + 1/log2(3) + 0.5/log2(4) + 0 + 0 = 0.8809 -> 0.6697.
    whole = (1 / math.log2(3) + 0.5 / 2) / ideal
    per_round, aggregate = NDCG().score_all([scores], [round_])
    assert per_round == pytest.approx([100 * official]) and aggregate["score"] == pytest.approx(47.9625, abs=1e-3)
    assert aggregate["ndcg_whole_list"] == pytest.approx(100 * whole) == pytest.approx(66.9668, abs=1e-3)
    m4_round, m4 = NDCG(variant="m4").score_all([scores], [round_])
    assert m4_round == pytest.approx([100 * whole]) and m4["ndcg_official"] == pytest.approx(100 * official)


def test_ndcg_is_the_mean_over_rounds_and_a_perfect_ranking_scores_100():
    rounds = [visdial_round([1.0, 0.5, 0.0, 0.0, 0.0]), visdial_round([0.0, 1.0, 0.0])]
    predictions = [{"C": 5.0, "A": 4.0, "B": 3.0, "D": 2.0, "E": 1.0}, {"B": 0.0, "A": -1.0, "C": -2.0}]
    per_round, aggregate = NDCG().score_all(predictions, rounds)
    assert per_round[1] == 100.0
    assert aggregate["score"] == pytest.approx((47.9625 + 100) / 2, abs=1e-3)


def winoground(example_id: int, tag: str = "Relation") -> Example:
    c0, c1 = "an old person kisses a young person", "a young person kisses an old person"
    return Example(example_id, IMAGE, {}, [c0, c1], {"choices": (c0, c1), "collapsed_tag": tag})


def table(c0_i0: float, c1_i0: float, c0_i1: float, c1_i1: float) -> list[dict[str, float]]:
    c0, c1 = winoground(0).references
    return [{c0: c0_i0, c1: c1_i0}, {c0: c0_i1, c1: c1_i1}]


def test_winoground_text_image_group_on_a_hand_made_table():
    tables = [
        # Each image prefers its caption (text 1); caption 1 prefers image 0 (-2 > -3): image 0.
        table(c0_i0=-1, c1_i0=-2, c0_i1=-4, c1_i1=-3),
        # Everything right: text 1, image 1, group 1.
        table(c0_i0=-1, c1_i0=-5, c0_i1=-5, c1_i1=-1),
        # Image 0 prefers caption 1 (text 0); caption 0 prefers image 1 (image 0).
        table(c0_i0=-3, c1_i0=-1, c0_i1=-2, c1_i1=-4),
    ]
    per_example, aggregate = WinogroundScores().score_all(tables, [winoground(i) for i in range(3)])
    assert per_example == [0.0, 100.0, 0.0]
    assert aggregate["text_score"] == pytest.approx(200 / 3)
    assert aggregate["image_score"] == pytest.approx(100 / 3)
    assert aggregate["score"] == pytest.approx(100 / 3)
    assert aggregate["components"] == {"text": aggregate["text_score"], "image": aggregate["image_score"]}
    # m4's public code labels them the other way round: its text score is the official image score.
    assert aggregate["m4_text_score"] == pytest.approx(100 / 3)
    assert aggregate["m4_image_score"] == pytest.approx(200 / 3)


def test_winoground_ties_are_not_wins():
    _, aggregate = WinogroundScores().score_all([table(-1, -1, -1, -1)], [winoground(0)])
    assert aggregate["text_score"] == aggregate["image_score"] == aggregate["score"] == 0.0


def test_accuracy_breakdowns_by_the_examples_meta():
    examples = [Example(i, IMAGE, {}, [gold], {"subject": subject, "choices": ("A", "B")})
                for i, (gold, subject) in enumerate([("A", "natural science"), ("B", "natural science"),
                                                     ("A", "social science")])]
    predictions = [{"A": 0.0, "B": -1.0}] * 3  # always A: right, wrong, right
    _, aggregate = Accuracy(top_k=(), breakdowns=("subject",), published_note="note").score_all(predictions, examples)
    assert aggregate["score"] == pytest.approx(200 / 3)
    assert aggregate["by_subject"] == {"natural science": 50.0, "social science": 100.0}
    assert aggregate["published_note"] == "note"


def test_sequence_mean_averages_over_the_prompt_and_the_continuation():
    score = ContinuationScore(total=-6.0, mean=-2.0, num_tokens=3, prompt_total=-14.0, prompt_tokens=7)
    assert choice_score(score, "sum") == -6.0 and choice_score(score, "mean") == -2.0
    assert choice_score(score, "sequence-mean") == pytest.approx(-20.0 / 10)
    with pytest.raises(EvalkitError, match="prompt's log-probability"):
        choice_score(ContinuationScore(total=-6.0, mean=-2.0, num_tokens=3), "sequence-mean")


@pytest.mark.parametrize("text, expected", [
    ("5.0 (16.8/20.8)", (5.0, (("text", 16.8), ("image", 20.8)))),  # the base models' cells
    ("9.2/20.0/25.0 (1.2/1.2/2.5)", (9.2, (("text", 20.0), ("image", 25.0)))),  # instruct: deltas in brackets
    ("n/a", None),
])
def test_composite_card_cells(text, expected):
    assert composite(text, "group_text_image") == expected
