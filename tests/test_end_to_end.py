"""The CLI on the offline IDEFICS and synthetic VQAv2: files written, reproducible, errors on one line."""

import json
from pathlib import Path

import pytest

from evalkit.cli import main


def run_cli(args: list[str]) -> int:
    return main([str(a) for a in args])


def run_vqav2(model: Path, data: Path, output: Path, seeds: str = "42", extra: tuple = ()) -> int:
    return run_cli(["run", "--model", model, "--tasks", "vqav2", "--shots", "0,2", "--seeds", seeds,
                    "--data-dir", data, "--limit", 6, "--batch-size", 4, "--output", output,
                    "--support-size", 40, "--no-progress", *extra])


def read_samples(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


def test_run_writes_results_samples_examples_and_table(tiny_model, vqav2_dir, tmp_path, capsys):
    assert run_vqav2(tiny_model, vqav2_dir, tmp_path / "run", seeds="42,43") == 0
    printed = capsys.readouterr().out
    assert "| vqav2 | vqa_accuracy (vqav2) |" in printed and "0-shot | 2-shot" in printed
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    task = results["tasks"]["vqav2"]
    assert set(task["shots"]) == {"0", "2"}
    assert set(task["shots"]["2"]["per_seed"]) == {"42", "43"}
    assert task["metric_variant"] == "vqav2" and task["prompt_format"] == "idefics"
    assert task["num_queries"] == 6 and task["support_size"] == 40
    assert results["config"]["seeds"] == [42, 43]
    assert results["environment"]["packages"]["transformers"]
    samples = read_samples(tmp_path / "run")
    assert len(samples) == 6 * 2 * 2
    two_shot = [s for s in samples if s["shots"] == 2]
    assert all(s["prompt"].count("<image>") == 3 and len(s["demo_ids"]) == 2 for s in two_shot)
    zero_shot = [s for s in samples if s["shots"] == 0]
    assert all(s["prompt"].count("<image>") == 1 and len(s["demo_ids"]) == 2 for s in zero_shot)
    mean = task["shots"]["2"]["mean"]
    per_seed = [v["score"] for v in task["shots"]["2"]["per_seed"].values()]
    assert mean == pytest.approx(sum(per_seed) / 2)
    assert (tmp_path / "run" / "table.md").read_text().startswith("| model | task |")
    check_examples_file(tmp_path / "run", vqav2_dir)


def check_examples_file(folder: Path, vqav2_dir: Path) -> None:
    """examples.jsonl names every query and demo of samples.jsonl once, with its image, text and answers."""
    samples = read_samples(folder)
    lines = [json.loads(line) for line in (folder / "examples.jsonl").read_text().splitlines()]
    queries = {r["id"]: r for r in lines if r["role"] == "query"}
    demos = {r["id"]: r for r in lines if r["role"] == "support"}
    assert len(queries) + len(demos) == len(lines), "each example once"
    assert set(queries) == {s["id"] for s in samples}
    assert set(demos) == {i for s in samples for i in s["demo_ids"]}
    questions = json.loads((vqav2_dir / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())["questions"]
    first = min(questions, key=lambda q: q["question_id"])
    query = queries[first["question_id"]]
    assert query["fields"] == {"question": first["question"]} and len(query["references"]) == 10
    assert query["image"] == {"file": str(vqav2_dir / "val2014" / f"COCO_val2014_{first['image_id']:012d}.jpg")}
    assert query["groups"]["answer_type"] in ("yes/no", "number", "other")
    demo = next(iter(demos.values()))
    assert Path(demo["image"]["file"]).is_file() and "train2014" in demo["image"]["file"]
    assert demo["answer"] and "references" not in demo  # the answer the prompt showed
    two_shot = next(s for s in samples if s["shots"] == 2)
    shown = [demos[i] for i in two_shot["demo_ids"]]
    assert all(f"Question: {d['fields']['question']} Answer: {d['answer']}\n" in two_shot["prompt"] for d in shown)


def test_same_seed_same_samples_other_seed_other_demos(tiny_model, vqav2_dir, tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert run_vqav2(tiny_model, vqav2_dir, tmp_path / name, seeds=seed) == 0
    a, b, c = (read_samples(tmp_path / name) for name in "abc")
    assert a == b
    assert [s["demo_ids"] for s in a] != [s["demo_ids"] for s in c]


def test_batch_size_does_not_change_prompts(tiny_model, vqav2_dir, tmp_path):
    run_vqav2(tiny_model, vqav2_dir, tmp_path / "b4")
    run_vqav2(tiny_model, vqav2_dir, tmp_path / "b1", extra=("--batch-size", "1"))
    by_id = lambda rows: {(r["shots"], r["id"]): r["prompt"] for r in rows}
    assert by_id(read_samples(tmp_path / "b4")) == by_id(read_samples(tmp_path / "b1"))


def test_saved_checkpoint_loads_through_from_pretrained(tiny_model):
    from evalkit.models.idefics import IdeficsAdapter
    from evalkit.taskspec import GenerationSettings

    adapter = IdeficsAdapter.from_pretrained(str(tiny_model), dtype="float32", device="cpu")
    assert adapter.describe()["parameters"] > 100_000
    assert adapter.model.config.model_type == "idefics"
    outputs = adapter.generate([["Question: what? Answer:"]], GenerationSettings(max_new_tokens=3), ["\n"])
    assert len(outputs) == 1 and isinstance(outputs[0], str)


@pytest.mark.parametrize("case, expected", [
    ("unknown_task", "unknown task 'nosuchtask'"),
    ("missing_file", "missing file v2_mscoco_val2014_annotations.json"),
    ("not_a_checkpoint", "not a model checkpoint folder (no config.json)"),
    ("missing_data_dir", "data directory not found"),
])
def test_clear_one_line_errors(case, expected, tiny_model, vqav2_dir, tmp_path, capsys):
    model, data, tasks = tiny_model, vqav2_dir, "vqav2"
    if case == "unknown_task":
        tasks = "nosuchtask"
    elif case == "missing_file":
        data = tmp_path / "partial"
        data.mkdir()
        for name in ("v2_OpenEnded_mscoco_train2014_questions.json", "v2_mscoco_train2014_annotations.json",
                     "v2_OpenEnded_mscoco_val2014_questions.json"):
            (data / name).write_bytes((vqav2_dir / name).read_bytes())
    elif case == "not_a_checkpoint":
        model = tmp_path / "empty-model"
        model.mkdir()
    elif case == "missing_data_dir":
        data = tmp_path / "nowhere"
    code = run_cli(["run", "--model", model, "--tasks", tasks, "--data-dir", data, "--output", tmp_path / "out",
                    "--no-progress"])
    stderr = capsys.readouterr().err
    error = stderr.strip().splitlines()[-1]
    assert code == 2
    assert error.startswith("evalkit: error:") and expected in error
    assert "Traceback" not in stderr


def test_beam_search_and_instruct_detection(tiny_model, tmp_path):
    from evalkit.models.idefics import IdeficsAdapter
    from evalkit.taskspec import GenerationSettings

    instruct = tmp_path / "idefics-tiny-instruct"
    instruct.symlink_to(tiny_model, target_is_directory=True)
    adapter = IdeficsAdapter.from_pretrained(str(instruct), dtype="float32", device="cpu")
    assert adapter.default_prompt_format == "idefics-instruct"
    prompts = [["User:What?<end_of_utterance>\nAssistant:"], ["User:Which one?<end_of_utterance>\nAssistant:"]]
    outputs = adapter.generate(prompts, GenerationSettings(max_new_tokens=4, num_beams=3), ["\n"])
    assert len(outputs) == 2
