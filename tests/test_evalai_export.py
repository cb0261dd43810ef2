"""Test splits (no public answers) run unscored and leave the EvalAI upload file: every question, once."""

import json
import shutil
from pathlib import Path

from evalkit.cli import main


def make_vqav2_test_dev(source: Path, target: Path) -> list[int]:
    questions = json.loads((source / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())
    for name in ("v2_OpenEnded_mscoco_train2014_questions.json", "v2_mscoco_train2014_annotations.json"):
        shutil.copy(source / name, target / name)
    shutil.copytree(source / "train2014", target / "train2014")
    (target / "test2015").mkdir()
    for image in (source / "val2014").iterdir():
        shutil.copy(image, target / "test2015" / image.name.replace("val2014", "test2015"))
    questions["data_subtype"] = "test-dev2015"
    (target / "v2_OpenEnded_mscoco_test-dev2015_questions.json").write_text(json.dumps(questions))
    return [q["question_id"] for q in questions["questions"]]


def run_test_split(model, data, split, output, task) -> dict:
    assert main(["run", "--model", str(model), "--tasks", task, "--shots", "2", "--data-dir", str(data),
                 "--query-split", split, "--support-size", "20", "--output", str(output), "--no-progress"]) == 0
    return json.loads((output / "results.json").read_text())["tasks"][task]


def test_vqav2_test_dev_upload_file(tiny_model, vqav2_dir, tmp_path, capsys):
    data = tmp_path / "vqav2"
    data.mkdir()
    question_ids = make_vqav2_test_dev(vqav2_dir, data)
    task = run_test_split(tiny_model, data, "test-dev2015", tmp_path / "run", "vqav2")
    assert task["query_split"] == "test-dev2015" and task["shots"]["2"]["mean"] is None
    assert "| unscored |" in capsys.readouterr().out
    upload = json.loads((tmp_path / "run" / "predictions_vqav2_2shot_seed42.json").read_text())
    assert sorted(r["question_id"] for r in upload) == sorted(question_ids)
    assert all(set(r) == {"question_id", "answer"} and isinstance(r["answer"], str) for r in upload)


def test_vizwiz_test_upload_file(tiny_model, tmp_path):
    from evalkit.synthetic import write_vizwiz

    data = tmp_path / "vizwiz"
    write_vizwiz(data, seed=1, images={"train": 30, "val": 6})
    val = json.loads((data / "Annotations" / "val.json").read_text())
    (data / "test").mkdir()
    test = []
    for record in val:
        name = record["image"].replace("_val_", "_test_")
        shutil.copy(data / "val" / record["image"], data / "test" / name)
        test.append({"image": name, "question": record["question"]})
    (data / "Annotations" / "test.json").write_text(json.dumps(test))
    run_test_split(tiny_model, data, "test", tmp_path / "run", "vizwiz")
    upload = json.loads((tmp_path / "run" / "predictions_vizwiz_2shot_seed42.json").read_text())
    assert sorted(r["image"] for r in upload) == sorted(r["image"] for r in test)
