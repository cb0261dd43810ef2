"""A Hugging Face copy of VQAv2 (save_to_disk folder or parquet files) reads as the official files do."""

import json
from pathlib import Path

import datasets
import pytest

from evalkit.data.vqa import VQAFiles
from evalkit.errors import EvalkitError


def hf_split(root: Path, split: str) -> datasets.Dataset:
    """Rows in HuggingFaceM4/VQAv2's columns, built from the official files."""
    questions = json.loads((root / f"v2_OpenEnded_mscoco_{split}_questions.json").read_text())["questions"]
    annotations = {a["question_id"]: a for a in
                   json.loads((root / f"v2_mscoco_{split}_annotations.json").read_text())["annotations"]}
    rows = []
    for q in reversed(questions):  # a different order on purpose: pairing is by id
        a = annotations[q["question_id"]]
        image = root / split / f"COCO_{split}_{q['image_id']:012d}.jpg"
        rows.append({"question_id": q["question_id"], "question": q["question"], "image_id": q["image_id"],
                     "question_type": a["question_type"], "answer_type": a["answer_type"],
                     "multiple_choice_answer": a["multiple_choice_answer"], "answers": a["answers"],
                     "image": {"bytes": image.read_bytes(), "path": None}})
    features = datasets.Features({
        "question_id": datasets.Value("int64"), "question": datasets.Value("string"),
        "image_id": datasets.Value("int64"), "question_type": datasets.Value("string"),
        "answer_type": datasets.Value("string"), "multiple_choice_answer": datasets.Value("string"),
        "answers": [{"answer": datasets.Value("string"), "answer_confidence": datasets.Value("string"),
                     "answer_id": datasets.Value("int64")}],
        "image": datasets.Image(),
    })
    return datasets.Dataset.from_list(rows, features=features)


@pytest.fixture(scope="module")
def hf_dict(vqav2_dir) -> datasets.DatasetDict:
    return datasets.DatasetDict({"train": hf_split(vqav2_dir, "train2014"),
                                 "validation": hf_split(vqav2_dir, "val2014")})


def assert_same_examples(from_hf, from_files):
    assert [e.id for e in from_hf] == [e.id for e in from_files]
    for a, b in zip(from_hf, from_files):
        assert a.fields == b.fields and a.references == b.references
        assert a.meta["answer_type"] == b.meta["answer_type"]
    assert from_hf[0].image.load().size == from_files[0].image.load().size


def test_save_to_disk_folder(hf_dict, vqav2_dir, tmp_path):
    hf_dict.save_to_disk(str(tmp_path / "hf"))
    source = VQAFiles()
    assert_same_examples(source.load(tmp_path / "hf", "query"), source.load(vqav2_dir, "query"))
    assert_same_examples(source.load(tmp_path / "hf", "support"), source.load(vqav2_dir, "support"))


def test_parquet_files(hf_dict, vqav2_dir, tmp_path):
    folder = tmp_path / "parquet" / "data"
    folder.mkdir(parents=True)
    for split, dataset in hf_dict.items():
        dataset.to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))
    assert_same_examples(VQAFiles().load(tmp_path / "parquet", "query"), VQAFiles().load(vqav2_dir, "query"))


def test_missing_column_is_named(hf_dict, tmp_path):
    datasets.DatasetDict({"validation": hf_dict["validation"].remove_columns("question")}).save_to_disk(
        str(tmp_path / "broken"))
    with pytest.raises(EvalkitError, match=r"\[question\]"):
        VQAFiles().load(tmp_path / "broken", "query")


def test_missing_split_is_named(hf_dict, tmp_path):
    datasets.DatasetDict({"validation": hf_dict["validation"]}).save_to_disk(str(tmp_path / "val-only"))
    with pytest.raises(EvalkitError, match="no split 'train'"):
        VQAFiles().load(tmp_path / "val-only", "support")


def test_rows_of_different_splits_are_different_images(hf_dict, tmp_path):
    """A save_to_disk copy leaves its splits unnamed in `datasets`: the images' keys (what the vision
    cache, the RICES cache and prompt digests know an image by) must still tell train row 0 from
    validation row 0."""
    hf_dict.save_to_disk(str(tmp_path / "copy"))
    support = VQAFiles().load(tmp_path / "copy", "support")
    queries = VQAFiles().load(tmp_path / "copy", "query")
    support_keys, query_keys = {e.image.key for e in support}, {e.image.key for e in queries}
    assert not support_keys & query_keys
    assert all(key.startswith(f"hf:{tmp_path / 'copy'}:validation:") for key in query_keys)
