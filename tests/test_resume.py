"""A run killed at any point and rerun with the same command ends with the files of an uninterrupted
run; a changed command refuses to mix with the old predictions."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.run.journal import Journal, prompt_digest
from evalkit.types import Example, FileImage

OUTPUT_FILES = ("results.json", "samples.jsonl", "examples.jsonl", "table.md", "predictions_vqav2_0shot_seed42.json",
                "predictions_vqav2_3shot_seed42.json")


def command(vqav2_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "evalkit.cli", "run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2",
            "--shots", "0,3", "--batch-size", "2", "--data-dir", str(vqav2_dir),
            "--output", "run", "--no-progress", *extra]


def journal_lines(folder: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in (folder / "run" / "progress").glob("*.jsonl"))


def run_until_killed(vqav2_dir: Path, folder: Path, lines: int) -> int:
    """Start the run and SIGKILL it once the journals hold `lines` outputs; the lines written then."""
    process = subprocess.Popen(command(vqav2_dir), cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while journal_lines(folder) < lines and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    return journal_lines(folder)


def test_killed_runs_resume_to_the_uninterrupted_files(vqav2_dir, tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir(), resumed.mkdir()
    subprocess.run(command(vqav2_dir), cwd=whole, check=True, capture_output=True)
    # 18 questions x 2 settings = 36 outputs: killed in the first setting, in the second, and again.
    written = [run_until_killed(vqav2_dir, resumed, target) for target in (3, 21, 30)]
    assert written[0] < written[1] < written[2] < 36
    finished = subprocess.run(command(vqav2_dir), cwd=resumed, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    for name in OUTPUT_FILES:
        assert (resumed / "run" / name).read_bytes() == (whole / "run" / name).read_bytes(), name
    runtime = json.loads((resumed / "run" / "runtime.json").read_text())
    assert runtime["resumed_outputs"] >= written[2] - 2 and runtime["computed_outputs"] == 36 - runtime["resumed_outputs"]


def test_a_changed_command_refuses_the_old_predictions_unless_forced(vqav2_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    arguments = command(vqav2_dir, "--limit", "4")[3:]  # after `python -m evalkit.cli`
    assert main(arguments) == 0
    assert main([*arguments, "--batch-size", "3"]) == 0  # batch size changes no prediction: continued
    assert json.loads(Path("run/runtime.json").read_text())["resumed_outputs"] == 8
    capsys.readouterr()
    assert main([*arguments, "--max-new-tokens", "3"]) == 2
    assert capsys.readouterr().err.strip() == (
        "evalkit: error: run: holds predictions of a different run (changed: config.max_new_tokens: null -> 3); "
        "rerun with --force to discard them, or choose another --output")
    assert main([*arguments, "--max-new-tokens", "3", "--force"]) == 0
    assert json.loads(Path("run/runtime.json").read_text())["resumed_outputs"] == 0


def test_journal_ignores_and_repairs_a_half_written_line(tmp_path):
    queries = [Example(id=n, image=FileImage(Path("x.png")), fields={}, references=[]) for n in range(3)]
    digests = [prompt_digest([f"Question {n}?", queries[n].image]) for n in range(3)]
    journal = Journal(tmp_path, "vqav2_0shot_seed42", rank=0)
    journal.folder.mkdir()
    journal.append([(0, queries[0], digests[0], "red"), (2, queries[2], digests[2], "two")])
    with journal.path.open("a") as out:
        out.write('{"index": 1, "id": 1, "out')  # killed mid-append
    assert Journal(tmp_path, "vqav2_0shot_seed42", rank=1).completed(queries, digests).outputs == {0: "red", 2: "two"}
    reopened = Journal(tmp_path, "vqav2_0shot_seed42", rank=0)
    reopened.append([(1, queries[1], digests[1], "blue")])
    assert reopened.completed(queries, digests).outputs == {0: "red", 1: "blue", 2: "two"}
    assert journal.path.read_text().count("\n") == 3


def test_an_output_is_reused_only_for_the_prompt_it_was_computed_from(tmp_path):
    queries = [Example(id=7, image=FileImage(Path("x.png")), fields={}, references=[])]
    journal = Journal(tmp_path, "vqav2_0shot_seed42", rank=0)
    journal.folder.mkdir()
    journal.append([(0, queries[0], prompt_digest(["Question: colour?", queries[0].image]), "red")])
    same = journal.completed(queries, [prompt_digest(["Question: colour?", queries[0].image])])
    assert same.outputs == {0: "red"} and same.changed == []
    for changed in (["Question: what colour?", queries[0].image], ["Question: colour?", FileImage(Path("y.png"))]):
        completed = journal.completed(queries, [prompt_digest(changed)])
        assert completed.outputs == {} and completed.changed == [0]
