"""`evalkit score` at VQAv2 scale: this checkout against an earlier revision (default: the last one
before the metric was made fast), back to back on the same synthetic data, with identical
per-question scores required.

    .venv/bin/python benchmarks/vqa_metric.py [--questions 214354] [--baseline-rev 2051c47] [--repeats 1]

The data is VQAv2's val2014 questions and annotations files at their real size (214,354 questions,
ten answers each, no images: scoring never opens them), answers recurring with a Zipf law and
written in the spellings the official normalisation undoes (evalkit/synthetic/vqav2.py). Each
revision runs `evalkit score --task vqav2 ... --output` in its own Python process; the time is
the whole command, interpreter start and imports included, as a user waits for it. The runs
alternate (baseline, this checkout, baseline, ...) so that a machine shared with other work slows
both alike; the ratio is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
# The last commit before issue 20's faster VQA scoring (data loading and memoised normalisation).
BEFORE_FAST_METRIC = "2051c47"


def baseline_tree(revision: str, folder: Path) -> Path:
    """The revision's `evalkit` package (with its task plugins at evalkit/tasks, as installed)."""
    archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", "--format=tar", revision, "evalkit", "tasks"],
                             check=True, capture_output=True).stdout
    tar_path = folder / "baseline.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder / "tree", filter="data")
    shutil.copytree(folder / "tree" / "tasks", folder / "tree" / "evalkit" / "tasks")
    return folder / "tree"


def score_command(source: Path, data: Path, predictions: Path, output: Path) -> tuple[float, float]:
    """Seconds taken by `evalkit score` run from `source` (a folder holding the evalkit package):
    wall-clock, and CPU (user + system, which a busy machine inflates far less)."""
    arguments = ["score", "--task", "vqav2", "--predictions", str(predictions), "--data-dir", str(data),
                 "--output", str(output), "--force"]
    code = (f"import sys; sys.path.insert(0, {str(source)!r}); from evalkit.cli import main; "
            f"sys.exit(main({arguments!r}))")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode != 0:
        raise SystemExit(f"evalkit score from {source} failed:\n{finished.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def per_question(output: Path) -> dict[str, tuple[str, float]]:
    lines = (output / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return {str(r["id"]): (r["prediction"], r["score"]) for r in map(json.loads, lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=214_354, help="VQAv2 val has 214,354")
    parser.add_argument("--baseline-rev", default=BEFORE_FAST_METRIC, help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each revision (alternating)")
    args = parser.parse_args()

    sys.path.insert(0, str(REPOSITORY))
    from evalkit.synthetic.vqav2 import write_vqav2_val_at_scale

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = work / "vqav2"
        predictions = write_vqav2_val_at_scale(data, questions=args.questions, seed=0)
        predictions_file = work / "predictions.json"
        predictions_file.write_text(json.dumps(predictions))
        annotations = json.loads((data / "v2_mscoco_val2014_annotations.json").read_text())["annotations"]
        distinct = len({a["answer"] for record in annotations for a in record["answers"]})
        baseline = baseline_tree(args.baseline_rev, work)
        times: dict[str, list[tuple[float, float]]] = {"baseline": [], "now": []}
        loads = []
        for _ in range(args.repeats):
            for name, source in (("baseline", baseline), ("now", REPOSITORY)):
                loads.append(os.getloadavg()[0])
                times[name].append(score_command(source, data, predictions_file, work / name))
        before, now = per_question(work / "baseline"), per_question(work / "now")
        identical = before == now
        print(f"VQAv2-scale scoring: {len(now):,} questions, {10 * len(now):,} answers ({distinct:,} distinct "
              f"strings), {args.repeats} run(s) each, alternating; load average (1 min) at the runs' starts: "
              f"{', '.join(f'{load:.1f}' for load in loads)} on {os.cpu_count()} cores")
        wall = {name: min(t[0] for t in runs) for name, runs in times.items()}
        cpu = {name: min(t[1] for t in runs) for name, runs in times.items()}
        print("| evalkit score | wall s (best) | CPU s (best) | wall ratio | CPU ratio |")
        print("|---|---|---|---|---|")
        print(f"| {args.baseline_rev} (before) | {wall['baseline']:.1f} | {cpu['baseline']:.1f} | 1.0x | 1.0x |")
        print(f"| this checkout | {wall['now']:.1f} | {cpu['now']:.1f} | {wall['baseline'] / wall['now']:.1f}x "
              f"| {cpu['baseline'] / cpu['now']:.1f}x |")
        print(f"per-question predictions and scores identical: {'yes' if identical else 'NO'}")
        if not identical:
            differing = [key for key in before if before[key] != now.get(key)]
            print(f"  {len(differing)} differ, e.g. {differing[:3]}")
            raise SystemExit(1)


if __name__ == "__main__":
    main()
