"""The command line as documentation and as a process: every option explained with its default,
SIGTERM a clean stop, `score` reading the folders `run` reads."""

from __future__ import annotations

import argparse
import json
import os
import signal

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import build_parser, main
from evalkit.commands import DEMO_TASKS


def subcommands() -> dict[str, argparse.ArgumentParser]:
    return build_parser()._subparsers._group_actions[0].choices


def test_every_option_has_help_and_shows_its_default():
    missing = [(name, action.dest) for name, parser in subcommands().items() for action in parser._actions
               if not isinstance(action, argparse._HelpAction) and not action.help]
    assert missing == []
    run_help = subcommands()["run"].format_help().replace("\n", " ")
    assert "(default: 8)" in " ".join(run_help.split())  # --batch-size
    assert "a quarter of the CPU cores, between 1 and 4" in " ".join(run_help.split())  # --workers, as it is


def test_demo_help_lists_every_demo_task(capsys):
    help_text = " ".join(build_parser().format_help().split())
    assert all(task in help_text for task in DEMO_TASKS) and "imagenet" in DEMO_TASKS


def test_sigterm_stops_with_a_message_and_keeps_the_work(vqav2_dir, tmp_path, capsys, monkeypatch):
    from evalkit.run.runner import Run

    original = Run._evaluate_setting

    def terminated_after_the_first_setting(self, *args, **kwargs):
        aggregate = original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return aggregate

    monkeypatch.setattr(Run, "_evaluate_setting", terminated_after_the_first_setting)
    args = ["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2", "--data-dir", str(vqav2_dir), "--shots", "0",
            "--limit", "2", "--output", str(tmp_path / "out"), "--device", "cpu", "--no-progress"]
    assert main(args) == 143
    assert capsys.readouterr().err.splitlines()[-1] == (
        "evalkit: terminated (SIGTERM); what was computed is kept: rerun the same command to continue")
    assert len((tmp_path / "out" / "progress" / "vqav2_0shot_seed42.rank0.jsonl").read_text().splitlines()) == 2
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is evalkit's only while it runs


def test_score_takes_the_make_data_root_as_run_does(synthetic_data, tmp_path, capsys):
    questions = json.loads((synthetic_data / "vqav2" / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())
    predictions = [{"question_id": q["question_id"], "answer": "red"} for q in questions["questions"]]
    (tmp_path / "p.json").write_text(json.dumps(predictions))
    assert main(["score", "--task", "vqav2", "--predictions", str(tmp_path / "p.json"),
                 "--data-dir", str(synthetic_data)]) == 0
    assert "| predictions:p.json | vqav2 |" in capsys.readouterr().out
