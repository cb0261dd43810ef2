"""VQA-family readers: the three forms HF copies give `answers` in, OpenFlamingo's converted
`*_vqa_format.json` files (verbatim samples in tests/data/openflamingo/, see tests/data/SOURCES.md),
and the answer records OpenFlamingo's leave-one-out depends on."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from PIL import Image

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.registry import get_task

OPENFLAMINGO = Path(__file__).parent / "data" / "openflamingo"
ANSWERS = ["red"] * 7 + ["dark red"] * 2 + ["blue"]
CONFIDENCES = ["yes"] * 5 + ["maybe"] * 4 + ["no"]

# Where each reader's HF copy keeps its id, and which split it reads queries from.
HF_LAYOUT = {"vqav2": ("validation", 110), "okvqa": ("val2014", 110), "textvqa": ("validation", 110),
             "vizwiz": ("val", "VizWiz_val_00000000.jpg")}


def answers_in(form: str):
    if form == "strings":
        return ANSWERS
    records = [{"answer": a, "answer_confidence": c, "answer_id": i} for i, (a, c) in
               enumerate(zip(ANSWERS, CONFIDENCES), 1)]
    if form == "list_of_dicts":
        return records
    return {key: [record[key] for record in records] for key in records[0]}  # Sequence({...}): dict of lists


def save_hf_copy(folder: Path, task: str, form: str) -> Path:
    split, question_id = HF_LAYOUT[task]
    features = None
    if form == "dict_of_lists":
        features = datasets.Features({
            "question_id": datasets.Value("string" if task == "vizwiz" else "int64"),
            "question": datasets.Value("string"), "image": datasets.Image(),
            "answers": datasets.Sequence({"answer": datasets.Value("string"),
                                          "answer_confidence": datasets.Value("string"),
                                          "answer_id": datasets.Value("int64")})})
    table = {"question_id": [question_id], "question": ["what colour?"], "image": [Image.new("RGB", (8, 8))],
             "answers": [answers_in(form)]}
    datasets.DatasetDict({split: datasets.Dataset.from_dict(table, features=features)}).save_to_disk(str(folder))
    return folder


@pytest.mark.parametrize("form", ["strings", "list_of_dicts", "dict_of_lists"])
@pytest.mark.parametrize("task", ["vqav2", "okvqa", "textvqa", "vizwiz"])
def test_hf_answers_in_every_form(task, form, tmp_path):
    example, = get_task(task).data.load(save_hf_copy(tmp_path / "hf", task, form), "query")
    assert example.references == ANSWERS
    confidences = [confidence for confidence, _ in example.meta["answer_records"]]
    assert confidences == ([None] * 10 if form == "strings" else CONFIDENCES)
    ids = [answer_id for _, answer_id in example.meta["answer_records"]]
    # Plain strings are numbered by position where the official files number the annotators (not VizWiz).
    assert ids == (list(range(1, 11)) if form != "strings" or task != "vizwiz" else [None] * 10)


def test_dict_of_lists_with_unequal_lengths_is_refused(tmp_path, capsys):
    from evalkit.data.vqa import answer_fields

    with pytest.raises(EvalkitError, match=r"question 3: the answers' lists differ in length \(answer 2, "
                                           r"answer_confidence 1\)"):
        answer_fields({"answer": ["a", "b"], "answer_confidence": ["yes"]}, "hf", "question 3", numbered=True)


def score_file(tmp_path: Path, task: str, data: Path, predictions: list[dict], variant: str) -> dict:
    (tmp_path / "predictions.json").write_text(json.dumps(predictions))
    out = tmp_path / f"scored-{variant}"
    assert main(["score", "--task", task, "--predictions", str(tmp_path / "predictions.json"), "--data-dir",
                 str(data), "--metric-variant", variant, "--output", str(out)]) == 0
    return json.loads((out / "results.json").read_text())["tasks"][task]["shots"]["0"]["per_seed"]["-"]


def test_openflamingo_textvqa_files_are_read_with_their_answer_ids(tmp_path, capsys):
    queries = get_task("textvqa").data.load(OPENFLAMINGO / "textvqa", "query")
    assert [q.id for q in queries] == [34602, 34603, 34604]
    assert queries[0].fields["question"] == "what is the brand of this camera?"
    assert queries[0].image.path == OPENFLAMINGO / "textvqa" / "train_images" / "003a8ae2ef43b901.jpg"
    assert queries[0].meta["answer_records"] == [("yes", i) for i in range(1, 11)]
    with pytest.raises(EvalkitError, match="missing file train_annotations_vqa_format.json beside "
                                           "train_questions_vqa_format.json"):
        get_task("textvqa").data.load(OPENFLAMINGO / "textvqa", "support")  # the samples hold no train answers
    # The most common answer of each question ("dakota" 5 times, "copenhagen" 9, "ale" 7): every answer
    # is its own record (its answer_id), so leaving one out leaves >= 4 matches: 100 under both rules.
    # Without the ids, equal answers dropped together would give (0.5 + 0.1 + 0.3) / 3 = 30.
    predictions = [{"question_id": q, "answer": a} for q, a in
                   ((34602, "dakota"), (34603, "copenhagen"), (34604, "ale"))]
    assert score_file(tmp_path, "textvqa", OPENFLAMINGO / "textvqa", predictions, "openflamingo")["score"] == 100.0
    assert score_file(tmp_path, "textvqa", OPENFLAMINGO / "textvqa", predictions, "textvqa")["score"] == 100.0


VIZWIZ_MOST_COMMON = [{"image": "VizWiz_val_00000000.jpg", "answer": "unanswerable"},
                      {"image": "VizWiz_val_00000001.jpg", "answer": "night time"},
                      {"image": "VizWiz_val_00000002.jpg", "answer": "dog years"}]


def test_openflamingo_vizwiz_files_are_keyed_by_image_name(tmp_path, capsys):
    queries = get_task("vizwiz").data.load(OPENFLAMINGO / "vizwiz", "query")
    assert [q.id for q in queries] == [p["image"] for p in VIZWIZ_MOST_COMMON]
    assert queries[0].image.path == OPENFLAMINGO / "vizwiz" / "val" / "VizWiz_val_00000000.jpg"
    assert queries[0].meta["answerable"] == 0 and queries[1].meta["answerable"] == 1
    assert queries[0].meta["answer_records"][4] == ("maybe", None)
    test = get_task("vizwiz").data.load(OPENFLAMINGO / "vizwiz", "query", split="test")
    assert [q.references for q in test] == [[], [], []] and test[2].id == "VizWiz_test_00000002.jpg"
    # OpenFlamingo's rule drops records equal in answer and confidence together:
    #   question 0: 6 "unanswerable"/yes, 1 /maybe, 1 /no: a yes left out leaves 2 matches (2/3, six
    #     times), any other leaves >= 7 (1, four times): 0.8;
    #   question 1: "night time" 5 times, all "maybe": one left out drops the five (0, five times),
    #     the others leave 5 (1): 0.5;
    #   question 2: "dog years" 6 yes + 3 maybe: >= 3 remain whichever is left out: 1.
    scores = score_file(tmp_path, "vizwiz", OPENFLAMINGO / "vizwiz", VIZWIZ_MOST_COMMON, "openflamingo")
    assert scores["score"] == pytest.approx(100 * (0.8 + 0.5 + 1.0) / 3) and "caveat" not in scores
    # The VizWiz evaluator leaves answers out by position: 8, 5 and 9 matches score 1 each.
    assert score_file(tmp_path, "vizwiz", OPENFLAMINGO / "vizwiz", VIZWIZ_MOST_COMMON, "vizwiz")["score"] == 100.0


def test_vizwiz_copy_without_confidences_says_so(tmp_path, capsys):
    """The same three questions as a HF copy with plain-text answers: no confidence to tell equal
    answers apart, so more are left out together (8, 5 and 9 equal answers: 0.2, 0.5, 0.1), and the
    result says it is not OpenFlamingo's score; a copy that keeps the confidences scores as the files."""
    annotations = json.loads((OPENFLAMINGO / "vizwiz" / "val_annotations_vqa_format.json").read_text())["annotations"]
    image = Image.new("RGB", (8, 8))
    plain = {"question_id": [a["image_id"] for a in annotations], "question": ["?"] * 3, "image": [image] * 3,
             "answers": [[x["answer"] for x in a["answers"]] for a in annotations]}
    datasets.DatasetDict({"val": datasets.Dataset.from_dict(plain)}).save_to_disk(str(tmp_path / "plain"))
    scores = score_file(tmp_path, "vizwiz", tmp_path / "plain", VIZWIZ_MOST_COMMON, "openflamingo")
    assert scores["score"] == pytest.approx(100 * (0.2 + 0.5 + 0.1) / 3)
    assert scores["caveat"].startswith("3 of 3 questions have answers without confidence or id")
    assert "not OpenFlamingo's score" in capsys.readouterr().out  # the printed details carry it too
    structs = {**plain, "answers": [a["answers"] for a in annotations]}
    datasets.DatasetDict({"val": datasets.Dataset.from_dict(structs)}).save_to_disk(str(tmp_path / "structs"))
    scores = score_file(tmp_path, "vizwiz", tmp_path / "structs", VIZWIZ_MOST_COMMON, "openflamingo")
    assert scores["score"] == pytest.approx(100 * (0.8 + 0.5 + 1.0) / 3) and "caveat" not in scores
