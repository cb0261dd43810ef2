"""OK-VQA, TextVQA and VizWiz: official layouts (as the generator writes them) and HF copies
(built here from small in-memory tables) load into the same examples; each task runs end to end."""

import json
from pathlib import Path

import datasets
import pytest
from PIL import Image

from evalkit.cli import main
from evalkit.registry import get_task
from evalkit.synthetic import write_all


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("family")
    write_all(root, seed=3)
    return root


def test_okvqa_official_layout_uses_stemmed_answers(data_root):
    queries = get_task("okvqa").data.load(data_root / "okvqa", "query")
    annotations = json.loads((data_root / "okvqa" / "mscoco_val2014_annotations.json").read_text())["annotations"]
    first = annotations[0]["answers"][0]
    assert {"answer", "raw_answer", "answer_confidence", "answer_id"} <= set(first)
    by_id = {e.id: e for e in queries}
    for annotation in annotations:
        assert by_id[annotation["question_id"]].references == [a["answer"] for a in annotation["answers"]]
    plural = [a for a in annotations if a["answers"][0]["raw_answer"].endswith("s")]
    assert plural and by_id[plural[0]["question_id"]].references[0] == plural[0]["answers"][0]["raw_answer"][:-1]


def test_textvqa_official_layout_with_ocr(data_root):
    folder = data_root / "textvqa"
    queries = get_task("textvqa").data.load(folder, "query")
    records = json.loads((folder / "TextVQA_0.5.1_val.json").read_text())["data"]
    assert len(queries) == len(records)
    first = next(e for e in queries if e.id == records[0]["question_id"])
    assert first.references == records[0]["answers"]
    ocr = json.loads((folder / "TextVQA_Rosetta_OCR_v0.2_val.json").read_text())["data"]
    tokens = next(r["ocr_tokens"] for r in ocr if r["image_id"] == records[0]["image_id"])
    assert tokens and first.fields["ocr_tokens"] == ", ".join(tokens)
    assert first.image.path == folder / "train_images" / f"{records[0]['image_id']}.jpg"
    (folder / "TextVQA_Rosetta_OCR_v0.2_val.json").rename(folder / "ocr.bak")
    try:
        assert get_task("textvqa").data.load(folder, "query")[0].fields["ocr_tokens"] == ""
    finally:
        (folder / "ocr.bak").rename(folder / "TextVQA_Rosetta_OCR_v0.2_val.json")


def test_vizwiz_official_layout_ids_are_image_names(data_root):
    queries = get_task("vizwiz").data.load(data_root / "vizwiz", "query")
    records = json.loads((data_root / "vizwiz" / "Annotations" / "val.json").read_text())
    assert [e.id for e in queries] == sorted(r["image"] for r in records)
    assert {e.meta["answerable"] for e in queries} == {0, 1}
    assert all(record == (a["answer_confidence"], None) for e, r in zip(queries, records)
               for record, a in zip(e.meta["answer_records"], r["answers"]))


def _image(color: str) -> Image.Image:
    return Image.new("RGB", (20, 20), color)


@pytest.mark.parametrize("task, split, table, expected", [
    ("okvqa", "val2014",  # lmms-lab/OK-VQA: string question ids, answers as strings
     {"question_id": ["7", "3"], "question": ["q7?", "q3?"], "answers": [["a"] * 10, ["b"] * 10],
      "image": [_image("red"), _image("blue")]},
     {"3": ("q3?", "b"), "7": ("q7?", "a")}),
    ("textvqa", "validation",  # lmms-lab/textvqa: with ocr_tokens
     {"question_id": [5, 2], "question": ["what?", "which?"], "image_id": ["ab", "cd"],
      "answers": [["stop"] * 10, ["exit"] * 10], "ocr_tokens": [["STOP", "x"], []],
      "image": [_image("red"), _image("blue")]},
     {2: ("which?", "exit"), 5: ("what?", "stop")}),
    ("vizwiz", "val",  # lmms-lab/VizWiz-VQA: no answerable column
     {"question_id": ["VizWiz_val_00000001.jpg", "VizWiz_val_00000000.jpg"], "question": ["q1?", "q0?"],
      "answers": [["unanswerable"] * 10, ["red"] * 10], "image": [_image("red"), _image("blue")]},
     {"VizWiz_val_00000000.jpg": ("q0?", "red"), "VizWiz_val_00000001.jpg": ("q1?", "unanswerable")}),
])
def test_hf_copies(task, split, table, expected, tmp_path):
    datasets.DatasetDict({split: datasets.Dataset.from_dict(table)}).save_to_disk(str(tmp_path / "hf"))
    examples = get_task(task).data.load(tmp_path / "hf", "query")
    assert {e.id: (e.fields["question"], e.references[0]) for e in examples} == expected
    assert examples[0].image.load().size == (20, 20)
    if task == "textvqa":
        assert examples[1].fields["ocr_tokens"] == "STOP, x"
    if task == "vizwiz":
        assert [e.meta["answerable"] for e in examples] == [1, 0]


@pytest.mark.parametrize("task, variant", [("okvqa", None), ("textvqa", None), ("vizwiz", None),
                                           ("vizwiz", "openflamingo")])
def test_end_to_end(task, variant, tiny_model, data_root, tmp_path, capsys):
    args = ["run", "--model", str(tiny_model), "--tasks", task, "--shots", "0,2", "--data-dir", str(data_root),
            "--limit", "4", "--support-size", "20", "--output", str(tmp_path), "--no-progress"]
    assert main(args + (["--metric-variant", variant] if variant else [])) == 0
    results = json.loads((tmp_path / "results.json").read_text())["tasks"][task]
    assert results["metric_variant"] == (variant or get_task(task).metric.variant)
    assert results["data"] == str(data_root / task) and results["num_queries"] == 4
    aggregate = results["shots"]["2"]["per_seed"]["42"]
    if task == "vizwiz":
        assert "unanswerable_f1" in aggregate
    assert f"| {task} |" in capsys.readouterr().out


def test_score_vizwiz_results_keyed_by_image(data_root, tmp_path, capsys):
    records = json.loads((data_root / "vizwiz" / "Annotations" / "val.json").read_text())
    predictions = [{"image": r["image"], "answer": r["answers"][0]["answer"].upper()} for r in records]
    (tmp_path / "p.json").write_text(json.dumps(predictions))
    assert main(["score", "--task", "vizwiz", "--predictions", str(tmp_path / "p.json"),
                 "--data-dir", str(data_root / "vizwiz"), "--output", str(tmp_path / "out")]) == 0
    aggregate = json.loads((tmp_path / "out" / "results.json").read_text())["tasks"]["vizwiz"]["shots"]["0"]["per_seed"]["-"]
    # Upper-cased predictions are lower-cased by VizWiz's normalisation of the prediction.
    assert aggregate["score"] > 50
    said = [p["answer"] == "UNANSWERABLE" for p in predictions]
    truth = [r["answerable"] == 0 for r in records]
    true_positives = sum(s and t for s, t in zip(said, truth))
    f1 = 2 * true_positives / (sum(said) + sum(truth))
    assert aggregate["unanswerable_f1"] == pytest.approx(100 * f1)
