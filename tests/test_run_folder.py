"""The run folder is the user's record: one run owns it at a time, a rerun never leaves it
inconsistent, resumes only what is still valid, and keeps finished work when the run is extended.

Runs go in-process on the embedded trained model and a small synthetic VQAv2 (2-4 queries)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.run.lock import LOCK_FILE
from evalkit.run.runner import Run, RunConfig


@pytest.fixture()
def data(vqav2_dir, tmp_path) -> Path:
    """A private copy of the small synthetic VQAv2 (tests change its files)."""
    return Path(shutil.copytree(vqav2_dir, tmp_path / "vqav2"))


def run_args(data: Path, output: Path, *extra: object) -> list[str]:
    return [str(a) for a in ("run", "--model", TRAINED_MODEL, "--tasks", "vqav2", "--data-dir", data, "--shots", "0",
                             "--limit", "2", "--output", output, "--dtype", "float32", "--device", "cpu",
                             "--no-progress", *extra)]


def error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evalkit: error:")]
    assert len(lines) == 1, lines
    return lines[0]


# ---- 1. one run owns the folder -----------------------------------------------------------------

def test_a_second_run_into_a_held_folder_is_refused_naming_the_holder(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    before = {p.name: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    holder = Run(RunConfig(model=str(TRAINED_MODEL), tasks=["vqav2"], shots=[0], seeds=[42], output=output,
                           data_dirs={"*": str(data)}, limit=2, dtype="float32", device="cpu"))
    try:
        for extra in ((), ("--force", "--max-new-tokens", "3")):
            capsys.readouterr()
            assert main(run_args(data, output, *extra)) == 2
            line = error_line(capsys)
            assert line.startswith(f"evalkit: error: {output}: in use by another evalkit run (pid ")
            assert "wait for it to end, or choose another --output" in line
        lock = json.loads((output / LOCK_FILE).read_text())
        assert lock["pid"] > 0 and lock["host"]
        # Nothing of the holder's folder changed (a --force second run used to delete its journals).
        after = {p.name: p.read_bytes() for p in output.rglob("*") if p.is_file() and p.name != LOCK_FILE}
        assert after == {name: data for name, data in before.items() if name != LOCK_FILE}
    finally:
        holder.close()
    assert not (output / LOCK_FILE).exists()
    assert main(run_args(data, output)) == 0


def test_a_killed_runs_lock_is_taken_over(data, tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from evalkit.run.lock import lock_folder; held = lock_folder(Path(sys.argv[1])); "
                               "print('held', flush=True); time.sleep(60)", str(output)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert main(run_args(data, output)) == 2
        assert f"pid {holder.pid}" in error_line(capsys)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (output / LOCK_FILE).exists()  # left behind by the killed holder
    assert main(run_args(data, output)) == 0


def test_without_flock_a_live_owner_is_respected_and_a_dead_one_replaced(tmp_path, monkeypatch):
    import errno
    import fcntl
    import os
    import socket

    from evalkit.errors import EvalkitError
    from evalkit.run.lock import lock_folder

    def no_flock(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    lock_file = tmp_path / LOCK_FILE
    lock_file.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "started": "then"}))
    with pytest.raises(EvalkitError, match=f"in use by another evalkit run \\(pid {os.getppid()} on "):
        lock_folder(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock_file.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": "then"}))
    lock_folder(tmp_path).release()


# ---- 2. synthetic data never replaces real data --------------------------------------------------

def test_make_data_refuses_a_folder_holding_real_files(tmp_path, capsys):
    real = tmp_path / "realdata" / "vqav2" / "v2_OpenEnded_mscoco_val2014_questions.json"
    real.parent.mkdir(parents=True)
    real.write_text('{"REAL":1}')
    assert main(["make-data", "--output", str(tmp_path / "realdata")]) == 2
    assert error_line(capsys) == (f"evalkit: error: {tmp_path / 'realdata'}: not empty (holds vqav2/) and not "
                                  "written by evalkit: its files would be replaced; choose an empty folder or "
                                  "pass --force")
    assert real.read_text() == '{"REAL":1}'


def test_demo_workdir_data_is_never_deleted_unless_evalkit_wrote_it(tmp_path):
    from evalkit.assets import STAMP, check_ours, ensure_data
    from evalkit.errors import EvalkitError

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.json").write_text("{}")
    with pytest.raises(EvalkitError, match="not empty \\(holds mine.json\\)"):
        ensure_data(tmp_path)
    assert (tmp_path / "data" / "mine.json").is_file()
    (tmp_path / "data" / STAMP).write_text("an earlier make-data\n")
    check_ours(tmp_path / "data", "")  # a folder evalkit wrote may be written again


# ---- 4. a resume reuses an output only for an unchanged prompt, images included ------------------

def test_a_replaced_image_is_recomputed_and_said(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output, "--shots", "2")) == 0
    questions = sorted(json.loads((data / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())["questions"],
                       key=lambda q: q["question_id"])[:2]
    image_id = questions[0]["image_id"]
    asking = [q["question_id"] for q in questions if q["image_id"] == image_id]
    shutil.copyfile(sorted((data / "train2014").iterdir())[0],  # same path, another picture
                    data / "val2014" / f"COCO_val2014_{image_id:012d}.jpg")
    capsys.readouterr()
    assert main(run_args(data, output, "--shots", "2")) == 0
    notices = [line for line in capsys.readouterr().err.splitlines() if "recomputed" in line]
    runtime = json.loads((output / "runtime.json").read_text())
    assert notices == [f"evalkit: vqav2_2shot_seed42: {len(asking)} saved output(s) were computed from another "
                       f"prompt (an image, question or demo changed since): recomputed (ids "
                       f"{', '.join(map(str, asking))})"]
    assert runtime["recomputed_outputs"] == [{"setting": "vqav2_2shot_seed42", "count": len(asking), "ids": asking}]
    assert runtime["resumed_outputs"] == 2 - len(asking) and runtime["computed_outputs"] == len(asking)
    # The files now equal a fresh run's on the changed data.
    assert main(run_args(data, tmp_path / "fresh", "--shots", "2")) == 0
    assert (output / "samples.jsonl").read_bytes() == (tmp_path / "fresh" / "samples.jsonl").read_bytes()


# ---- 11. the same folder said another way is the same run; extending keeps finished work ---------

def test_equivalent_paths_continue_the_run(data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = Path("model")
    model.symlink_to(TRAINED_MODEL)
    args = run_args(Path("vqav2"), Path("out"))
    args[args.index("--model") + 1] = "model"
    assert main(args) == 0
    args[args.index("--model") + 1] = "./model/"
    args[args.index("--data-dir") + 1] = f"{tmp_path}/vqav2/"
    assert main(args) == 0
    assert json.loads(Path("out/runtime.json").read_text())["resumed_outputs"] == 2


def test_extending_a_run_keeps_its_finished_settings(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    journal = (output / "progress" / "vqav2_0shot_seed42.rank0.jsonl").read_text()
    # Another shot count, another seed and a larger --limit: no --force, nothing recomputed twice.
    assert main(run_args(data, output, "--shots", "0,1", "--seeds", "42,7", "--limit", "3")) == 0
    runtime = json.loads((output / "runtime.json").read_text())
    assert runtime["resumed_outputs"] == 2 and runtime["computed_outputs"] == 3 * 4 - 2
    assert (output / "progress" / "vqav2_0shot_seed42.rank0.jsonl").read_text().startswith(journal)
    results = json.loads((output / "results.json").read_text())
    assert results["tasks"]["vqav2"]["num_queries"] == 3 and set(results["tasks"]["vqav2"]["shots"]) == {"0", "1"}
    # Back to the first command: all reused.
    assert main(run_args(data, output)) == 0
    assert json.loads((output / "runtime.json").read_text())["computed_outputs"] == 0


def test_a_refusal_shows_the_old_and_new_values(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    capsys.readouterr()
    assert main(run_args(data, output, "--zero-shot", "none", "--prompt-format", "idefics-instruct")) == 2
    assert error_line(capsys) == (
        f"evalkit: error: {output}: holds predictions of a different run (changed: config.prompt_format: \"auto\" "
        "-> \"idefics-instruct\"; config.zero_shot: \"flamingo\" -> \"none\"); rerun with --force to discard them, "
        "or choose another --output")


# ---- 5, 6. a restarted folder is never half old, half new ----------------------------------------

def test_an_interrupted_rerun_leaves_results_marked_unfinished(data, tmp_path, capsys, monkeypatch):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    assert json.loads((output / "results.json").read_text())["finished"] is True

    def interrupted(*args, **kwargs):
        assert json.loads((output / "results.json").read_text())["finished"] is False  # before samples restart
        raise KeyboardInterrupt

    monkeypatch.setattr(Run, "evaluate_task", interrupted)
    assert main(run_args(data, output)) == 130
    assert json.loads((output / "results.json").read_text())["finished"] is False
    assert (output / "samples.jsonl").read_text() == ""


def test_force_discards_the_old_runs_files(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    assert (output / "predictions_vqav2_0shot_seed42.json").is_file()
    assert main(run_args(data, output, "--shots", "1", "--max-new-tokens", "3", "--force")) == 0
    assert sorted(p.name for p in output.glob("predictions_*")) == ["predictions_vqav2_1shot_seed42.json"]
    assert set(json.loads((output / "results.json").read_text())["tasks"]["vqav2"]["shots"]) == {"1"}


def test_temporary_files_of_killed_writes_are_removed(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    left = [output / ".table.md.k2j4_x9a", output / ".results.json.abcdefgh.evalkit-tmp",
            output / "progress" / ".identity.json.0123abcd.evalkit-tmp"]
    for path in left:
        path.write_text("half")
    (output / ".keep-me").write_text("the user's")
    assert main(run_args(data, output)) == 0
    assert not any(path.exists() for path in left) and (output / ".keep-me").exists()


def test_score_output_never_replaces_a_runs_results(data, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(run_args(data, output)) == 0
    results = (output / "results.json").read_bytes()
    answers = [{"question_id": s["id"], "answer": s["prediction"]}
               for s in map(json.loads, (output / "samples.jsonl").read_text().splitlines())]
    (tmp_path / "predictions.json").write_text(json.dumps(answers))
    score = ["score", "--task", "vqav2", "--predictions", str(tmp_path / "predictions.json"), "--data-dir", str(data),
             "--subset", "--output"]
    capsys.readouterr()
    assert main([*score, str(output)]) == 2
    assert error_line(capsys) == (f"evalkit: error: {output}: holds the results of an evalkit run, which --output "
                                  "would replace; choose another folder or pass --force")
    assert (output / "results.json").read_bytes() == results
    assert main([*score, str(tmp_path / "scored")]) == 0 and main([*score, str(tmp_path / "scored")]) == 0
    assert main([*score, str(output), "--force"]) == 0


# ---- 8. the run's files follow the user's umask; its own table says --limit ----------------------

def test_run_files_follow_the_umask_and_the_table_says_limit(data, tmp_path, capsys):
    import os
    import stat

    previous = os.umask(0o027)
    try:
        assert main(run_args(data, tmp_path / "out")) == 0
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.json", "table.md", "samples.jsonl", "runtime.json",
                                       "predictions_vqav2_0shot_seed42.json", "identity.json"}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o640" for p in files}
    assert "| idefics-tiny-trained [--limit 2] | vqav2 |" in (tmp_path / "out" / "table.md").read_text().replace(
        str(TRAINED_MODEL), "idefics-tiny-trained")


def test_processes_checking_one_output_folder_at_once_do_not_trip_each_other(tmp_path):
    """Every process of a torchrun run checks the folder at the same moment (CI once failed on a
    probe file one process deleted under another)."""
    import threading

    from evalkit.files import prepare_output

    failures: list[str] = []

    def check_many_times() -> None:
        for _ in range(200):
            try:
                prepare_output(tmp_path / "run")
            except EvalkitError as error:
                failures.append(str(error))

    threads = [threading.Thread(target=check_many_times) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and [p.name for p in (tmp_path / "run").iterdir()] == []
