"""evalkit from Python: a model object evaluated as `evalkit run` evaluates its checkpoint, handed
back as it came, never scored from image features of weights it no longer has; run files."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoProcessor, IdeficsForVisionText2Text

from evalkit.api import Evaluator, evaluate
from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError

SETTINGS = dict(tasks=["vqav2", "hatefulmemes"], shots=[0, 2], limit=12)


def _cli(data: Path, output: Path, *extra: str) -> dict:
    assert main(["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2,hatefulmemes", "--shots", "0,2",
                 "--limit", "12", "--data-dir", str(data), "--output", str(output), "--no-progress", *extra]) == 0
    return json.loads((output / "results.json").read_text())


def _per_seed(results: dict) -> dict:
    return {task: {shots: {seed: aggregate["score"] for seed, aggregate in entry["per_seed"].items()}
                   for shots, entry in result["shots"].items()} for task, result in results["tasks"].items()}


@pytest.fixture
def loaded():
    return IdeficsForVisionText2Text.from_pretrained(TRAINED_MODEL), AutoProcessor.from_pretrained(TRAINED_MODEL)


def test_a_model_object_scores_as_evalkit_run_and_is_handed_back_as_it_came(synthetic_data, tmp_path, loaded,
                                                                            monkeypatch):
    model, processor = loaded
    model.train()
    padding = processor.tokenizer.padding_side = "right"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    evaluation = evaluate(model, processor, data_dir=synthetic_data, **SETTINGS)
    assert list((tmp_path / "cwd").iterdir()) == []  # no output folder given: nothing written
    assert model.training and processor.tokenizer.padding_side == padding
    assert model.dtype == torch.float32 and model.device.type == "cpu"
    expected = _cli(synthetic_data, tmp_path / "run")
    assert _per_seed(evaluation.results) == _per_seed(expected)
    assert evaluation.score("vqav2", 2) == expected["tasks"]["vqav2"]["shots"]["2"]["mean"]
    frame = evaluation.to_dataframe()
    assert len(frame) == 4 and set(frame["task"]) == {"vqav2", "hatefulmemes"}
    row = frame[(frame["task"] == "vqav2") & (frame["shots"] == 2)].iloc[0]
    interval = expected["tasks"]["vqav2"]["shots"]["2"]["per_seed"]["42"]["interval"]
    assert (row["se"], row["ci_low"], row["ci_high"]) == (interval["se"], interval["low"], interval["high"])
    assert row["ci_low"] <= row["score"] <= row["ci_high"]
    assert "| vqav2 |" in evaluation.to_markdown()
    assert evaluation.to_dict()["tasks"] == expected["tasks"]


def _shake_vision(model) -> None:
    with torch.no_grad():
        for parameter in model.model.vision_model.parameters():
            parameter.add_(torch.randn_like(parameter, generator=torch.Generator().manual_seed(0)) * 2)


def test_a_weight_update_changes_the_scores_unless_the_vision_side_is_declared_frozen(synthetic_data, loaded):
    model, processor = loaded
    evaluator = Evaluator(data_dir=synthetic_data, **SETTINGS)
    before = evaluator.evaluate(model, processor)
    frozen = Evaluator(data_dir=synthetic_data, vision_frozen=True, **SETTINGS)
    frozen.evaluate(model, processor)
    _shake_vision(model)
    after = evaluator.evaluate(model, processor)
    assert after.score("vqav2", 2) != before.score("vqav2", 2)
    # Told the vision side is frozen, the evaluator reuses the features computed before the change:
    # the scores are the old ones. That is why it is off by default.
    assert _per_seed(frozen.evaluate(model, processor).results) == _per_seed(before.results)


def test_a_folder_written_from_other_weights_is_not_continued(synthetic_data, tmp_path, loaded):
    model, processor = loaded
    evaluator = Evaluator(data_dir=synthetic_data, **SETTINGS)
    evaluator.evaluate(model, processor, output=tmp_path / "run")
    _shake_vision(model)
    with pytest.raises(EvalkitError, match="checkpoint.weights"):
        evaluator.evaluate(model, processor, output=tmp_path / "run")


def test_settings_are_checked_by_name_and_type(synthetic_data, loaded):
    with pytest.raises(EvalkitError, match=r"\[batchsize\]: unknown setting 'batchsize' \(did you mean batch_size\?\)"):
        evaluate(*loaded, tasks="vqav2", data_dir=synthetic_data, batchsize=4)
    with pytest.raises(EvalkitError, match=r"\[limit\]: expected int \| float \| None, got '12'"):
        evaluate(*loaded, tasks="vqav2", data_dir=synthetic_data, limit="12")


def test_a_run_file_reproduces_the_flag_run_byte_for_byte(synthetic_data, tmp_path, capsys):
    _cli(synthetic_data, tmp_path / "run")
    (tmp_path / "run").rename(tmp_path / "flags")
    run_file = tmp_path / "run.yaml"
    run_file.write_text(f"model: {TRAINED_MODEL}\ntasks: [vqav2, hatefulmemes]\nshots: [0, 2]\nlimit: 12\n"
                        f"data_dirs: {synthetic_data}\noutput: {tmp_path / 'run'}\n")
    assert main(["run", "--config", str(run_file), "--no-progress"]) == 0
    assert (tmp_path / "run" / "results.json").read_bytes() == (tmp_path / "flags" / "results.json").read_bytes()
    # A flag overrides the file; JSON files are read the same way.
    json_file = tmp_path / "run.json"
    json_file.write_text(json.dumps({"model": str(TRAINED_MODEL), "tasks": "vqav2", "shots": 0, "limit": 12,
                                     "data_dirs": {"*": str(synthetic_data)}, "output": str(tmp_path / "j")}))
    assert main(["run", "--config", str(json_file), "--limit", "5", "--no-progress"]) == 0
    results = json.loads((tmp_path / "j" / "results.json").read_text())
    assert results["config"]["limit"] == 5 and results["tasks"]["vqav2"]["num_queries"] == 5


@pytest.mark.parametrize("content, message", [
    ("model: m\ntasks: [vqav2]\noutput: o\nbatch_size: eight\n", "run.yaml [batch_size]: expected int, got 'eight'"),
    ("model: m\ntasks: [vqav2]\noutput: o\nshot: [4]\n", "run.yaml [shot]: unknown setting 'shot' (did you mean shots?)"),
    ("model: m\ntasks: [vqav2\n", "run.yaml: not valid YAML"),
    ("- model\n", "run.yaml: a run file holds a mapping of settings"),
    ("tasks: [vqav2]\noutput: o\n", "run.yaml [model]: no model given"),
])
def test_a_bad_run_file_is_a_one_line_error_naming_the_key_and_the_file(tmp_path, capsys, content, message):
    (tmp_path / "run.yaml").write_text(content)
    assert main(["run", "--config", str(tmp_path / "run.yaml")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1


def test_the_regression_run_file_covers_every_task_and_drives_the_check():
    from evalkit.regression import default_settings
    from evalkit.registry import all_tasks

    settings = default_settings()
    assert settings["tasks"] == sorted(all_tasks()), "a new task plugin belongs in results/run-files/regression.yaml"
    assert settings["shots"] == [0, 1] and settings["limit"] == 6


def test_the_card_run_file_plans_the_card_with_flags_overriding_it(synthetic_data, tmp_path, capsys):
    card_file = Path(__file__).resolve().parents[1] / "results" / "run-files" / "idefics-9b-card.yaml"
    assert main(["reproduce", "idefics-9b", "--config", str(card_file), "--model", str(TRAINED_MODEL),
                 "--data-dir", str(synthetic_data), "--limit", "2", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "## Plan: idefics-9b" in plan and "| vqav2 | 32 | 2 |" in plan
