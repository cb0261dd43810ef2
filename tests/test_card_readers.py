"""Readers of the last four card columns on records in their official formats and HF copies.

Verbatim records: ScienceQA's from the `derek-thomas/ScienceQA` dataset card (train split), Winoground's
as a third-party loader's docstring prints the `facebook/winoground` row (both quoted in the project's
model-card-extra.md). No verbatim VisDial record is public; its records follow the schema of the VisDial
starter code's reader (batra-mlp-lab/visdial-challenge-starter-pytorch, visdialch/data/readers.py).
"""

import json
import zipfile
from pathlib import Path

import datasets
import pytest
from PIL import Image

from evalkit.data.renderedsst2 import RenderedSST2Folders
from evalkit.data.scienceqa import ScienceQAFiles
from evalkit.data.skips import Skips
from evalkit.data.visdial import VisDialFiles
from evalkit.data.winoground import WinogroundFiles
from evalkit.errors import EvalkitError

SCIENCEQA_RECORD = {
    "question": "Which of these states is farthest north?",
    "choices": ["West Virginia", "Louisiana", "Arizona", "Oklahoma"], "answer": 0, "hint": "",
    "task": "closed choice", "grade": "grade2", "subject": "social science", "topic": "geography",
    "category": "Geography", "skill": "Read a map: cardinal directions",
    "lecture": "Maps have four cardinal directions, ...", "solution": "To find the answer, look at the compass rose. ...",
}
WINOGROUND_RECORD = {
    "caption_0": "an old person kisses a young person", "caption_1": "a young person kisses an old person",
    "collapsed_tag": "Relation", "id": 0, "num_main_preds": 1, "secondary_tag": "", "tag": "Adjective-Age",
}


def png(path: Path, color=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)
    return path


# --- ScienceQA ---------------------------------------------------------------------------------------

def scienceqa_files(root: Path, problems: dict[str, dict], test: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "problems.json").write_text(json.dumps(problems))
    (root / "pid_splits.json").write_text(json.dumps({"train": [], "val": [], "test": test}))
    for pid, problem in problems.items():
        if problem["image"]:
            png(root / "test" / pid / problem["image"])
    return root


def with_choices(count: int, answer: int, **extra) -> dict:
    return {**SCIENCEQA_RECORD, "choices": [f"choice {i}" for i in range(count)], "answer": answer,
            "image": "image.png", **extra}


def test_scienceqa_reads_the_verbatim_record_and_keeps_only_questions_with_an_image(tmp_path):
    problems = {"1": {**SCIENCEQA_RECORD, "image": "image.png"}, "2": {**SCIENCEQA_RECORD, "image": None},
                "3": with_choices(2, 1, hint="A hint."), "4": with_choices(5, 4, grade="grade9")}
    examples = ScienceQAFiles().load(scienceqa_files(tmp_path, problems, ["1", "2", "3", "4"]), "query")
    assert [e.id for e in examples] == ["1", "3", "4"]
    verbatim, two, five = examples
    assert verbatim.references == ["A"] and verbatim.meta["choices"] == ("A", "B", "C", "D")
    assert verbatim.fields["choice_lines"] == "A - West Virginia\nB - Louisiana\nC - Arizona\nD - Oklahoma\n"
    assert verbatim.fields["hint_line"] == "" and verbatim.meta["context"] == "image only"
    assert verbatim.meta["subject"] == "social science" and verbatim.meta["grade_band"] == "grades 1-6"
    assert two.meta["choices"] == ("A", "B") and two.references == ["B"]
    assert two.fields["hint_line"] == "Context: A hint.\n" and two.meta["context"] == "text and image"
    assert five.meta["choices"] == ("A", "B", "C", "D", "E") and five.references == ["E"]
    assert five.meta["grade_band"] == "grades 7-12"
    assert all(e.meta["choices_a_to_e"] == ("A", "B", "C", "D", "E") for e in examples)
    assert verbatim.image.path == tmp_path / "test" / "1" / "image.png"


@pytest.mark.parametrize("problem, field", [(with_choices(6, 0), "choices"), (with_choices(1, 0), "choices"),
                                            (with_choices(3, 3), "answer")])
def test_scienceqa_refuses_choice_counts_outside_2_to_5_and_bad_answers(tmp_path, problem, field):
    with pytest.raises(EvalkitError, match=rf"\[{field}\]: problem 7"):
        ScienceQAFiles().load(scienceqa_files(tmp_path, {"7": problem}, ["7"]), "query")


def test_scienceqa_hf_copy_reads_as_the_files_do(tmp_path):
    image = png(tmp_path / "image.png")
    rows = [{**SCIENCEQA_RECORD, "image": {"bytes": image.read_bytes(), "path": None}},
            {**SCIENCEQA_RECORD, "question": "Which word is a noun?", "image": None}]
    features = datasets.Features({**{k: datasets.Value("string") for k in SCIENCEQA_RECORD},
                                  "choices": [datasets.Value("string")], "answer": datasets.Value("int8"),
                                  "image": datasets.Image()})
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows, features=features)}).save_to_disk(str(tmp_path / "hf"))
    [example] = ScienceQAFiles().load(tmp_path / "hf", "query")
    assert example.id == 0 and example.references == ["A"] and example.fields["question"] == SCIENCEQA_RECORD["question"]
    assert example.image.load().size == (8, 8)


# --- Winoground --------------------------------------------------------------------------------------

def winoground_files(root: Path, zipped: bool) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    line = {**WINOGROUND_RECORD, "image_0": "ex_0_img_0", "image_1": "ex_0_img_1"}
    (data / "examples.jsonl").write_text(json.dumps(line) + "\n")
    for j, color in enumerate([(255, 0, 0), (0, 0, 255)]):
        path = png(root / "unzipped" / f"ex_0_img_{j}.jpg", color)
        if zipped:
            with zipfile.ZipFile(data / "images.zip", "a") as archive:
                archive.write(path, f"images/ex_0_img_{j}.png")
        else:
            png(data / "images" / f"ex_0_img_{j}.jpg", color)
    return root


@pytest.mark.parametrize("zipped", [True, False])
def test_winoground_reads_the_verbatim_record_from_the_zip_or_a_folder(tmp_path, zipped):
    [example] = WinogroundFiles().load(winoground_files(tmp_path, zipped), "query")
    assert example.id == 0 and example.references == [WINOGROUND_RECORD["caption_0"], WINOGROUND_RECORD["caption_1"]]
    assert example.meta["choices"] == tuple(example.references) and example.meta["collapsed_tag"] == "Relation"
    first, second = example.images
    assert example.image == first and first.key != second.key
    assert first.load().getpixel((0, 0))[0] > 200 and second.load().getpixel((0, 0))[2] > 200


def test_winoground_hf_copy_keeps_the_two_images_apart(tmp_path):
    images = {f"image_{j}": {"bytes": png(tmp_path / f"{j}.png", color).read_bytes(), "path": None}
              for j, color in enumerate([(255, 0, 0), (0, 0, 255)])}
    features = datasets.Features({"id": datasets.Value("int32"), "caption_0": datasets.Value("string"),
                                  "caption_1": datasets.Value("string"), "tag": datasets.Value("string"),
                                  "secondary_tag": datasets.Value("string"), "num_main_preds": datasets.Value("int32"),
                                  "collapsed_tag": datasets.Value("string"), "image_0": datasets.Image(),
                                  "image_1": datasets.Image()})
    dataset = datasets.Dataset.from_list([{**WINOGROUND_RECORD, **images}], features=features)
    datasets.DatasetDict({"test": dataset}).save_to_disk(str(tmp_path / "hf"))
    [example] = WinogroundFiles().load(tmp_path / "hf", "query")
    assert example.references[0] == WINOGROUND_RECORD["caption_0"] and len({i.key for i in example.images}) == 2
    assert example.images[1].load().getpixel((0, 0))[2] > 200


# --- VisDial -----------------------------------------------------------------------------------------

QUESTIONS = ["is it sunny", "what color is the bus", "how many people", "is it old"]
ANSWERS = ["yes", "red", "two", "no", "blue", "three"]


def visdial_files(root: Path, round_id, relevance=None) -> Path:
    """One train and one val dialog of 4 rounds; every round offers options [1, 0, 2, 3] (red, yes,
    two, no); the val dialog's dense annotation names `round_id`."""
    rounds = [{"question": q, "answer": q, "answer_options": [1, 0, 2, 3], "gt_index": [1, 0, 2, 3].index(q)}
              for q in range(4)]
    for split, image_id in (("train", 378466), ("val", 185565)):
        document = {"version": "1.0", "split": split, "data": {
            "questions": QUESTIONS, "answers": ANSWERS,
            "dialogs": [{"image_id": image_id, "caption": "a bus on a street", "dialog": rounds}]}}
        root.mkdir(parents=True, exist_ok=True)
        (root / f"visdial_1.0_{split}.json").write_text(json.dumps(document))
    png(root / "train2014" / "COCO_train2014_000000378466.jpg")
    dense = [{"image_id": 185565, "round_id": round_id, "gt_relevance": relevance or [0.5, 0.0, 1.0, 0.0]}]
    (root / "visdial_1.0_val_dense_annotations.json").write_text(json.dumps(dense))
    return root


def test_visdial_query_is_the_dense_round_with_the_rounds_before_it_as_history(tmp_path):
    [query] = VisDialFiles().load(visdial_files(tmp_path, round_id=3), "query")  # 1-based: the third round
    assert query.id == 185565 and query.references == ["two"]
    assert query.fields == {"caption": "a bus on a street", "context":
                            "Question: is it sunny? Answer: yes. Question: what color is the bus? Answer: red. "
                            "Question: how many people? Answer:"}
    assert query.meta["choices"] == ("red", "yes", "two", "no") and query.meta["relevance"] == [0.5, 0.0, 1.0, 0.0]
    assert query.image.path == tmp_path / "VisualDialog_val2018" / "VisualDialog_val2018_000000185565.jpg"
    [first_round] = VisDialFiles().load(visdial_files(tmp_path / "r1", round_id=1), "query")
    assert first_round.fields["context"] == "Question: is it sunny? Answer:"


def test_visdial_shot_is_a_train_dialog_labelled_with_its_last_answer(tmp_path):
    [shot] = VisDialFiles().load(visdial_files(tmp_path, round_id=1), "support")
    assert shot.references == ["no"] and shot.fields["context"].endswith("Question: is it old? Answer:")
    assert shot.fields["context"].count("Question:") == 4
    assert shot.image.path == tmp_path / "train2014" / "COCO_train2014_000000378466.jpg"


@pytest.mark.parametrize("round_id, relevance, field", [(0, None, "round_id"), (5, None, "round_id"),
                                                        (2, [1.0, 0.0], "gt_relevance"), (2, [2.0, 0, 0, 0], "gt_relevance")])
def test_visdial_refuses_rounds_outside_the_dialog_and_misaligned_relevance(tmp_path, round_id, relevance, field):
    with pytest.raises(EvalkitError, match=rf"\[{field}\]"):
        VisDialFiles().load(visdial_files(tmp_path, round_id, relevance), "query")


def test_visdial_dialog_without_dense_annotation_is_an_error_unless_skipped(tmp_path):
    root = visdial_files(tmp_path, round_id=2)
    document = json.loads((root / "visdial_1.0_val.json").read_text())
    document["data"]["dialogs"].append({**document["data"]["dialogs"][0], "image_id": 7})
    (root / "visdial_1.0_val.json").write_text(json.dumps(document))
    with pytest.raises(EvalkitError, match="1 dialog\\(s\\) have no dense annotation"):
        VisDialFiles().load(root, "query")
    skips = Skips(allowed=True)
    assert [e.id for e in VisDialFiles().load(root, "query", skips=skips)] == [185565]
    assert skips.entries[0]["ids"] == [7]


# --- Rendered SST-2 ----------------------------------------------------------------------------------

def test_renderedsst2_folders_and_hf_copy(tmp_path):
    for name, label in (("0.png", "negative"), ("1.png", "positive"), ("2.png", "negative")):
        png(tmp_path / "files" / "test" / label / name)
    examples = RenderedSST2Folders().load(tmp_path / "files", "query")
    assert [(e.id, e.references[0]) for e in examples] == [("0.png", "negative"), ("1.png", "positive"),
                                                          ("2.png", "negative")]
    assert examples[0].meta["choices"] == ("negative", "positive")
    png(tmp_path / "files" / "test" / "positive" / "0.png")  # a name in both classes: ids name the class
    assert [e.id for e in RenderedSST2Folders().load(tmp_path / "files", "query")][:2] == ["negative/0.png",
                                                                                          "negative/2.png"]
    image = {"bytes": png(tmp_path / "x.png").read_bytes(), "path": None}
    features = datasets.Features({"image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=["negative", "positive"])})
    rows = [{"image": image, "label": 1}, {"image": image, "label": 0}]
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows, features=features)}).save_to_disk(str(tmp_path / "hf"))
    assert [e.references[0] for e in RenderedSST2Folders().load(tmp_path / "hf", "query")] == ["positive", "negative"]
