"""Estimate samples.jsonl's size for a full VQAv2 val run at 32 shots (214,354 questions) at each
--log-samples level, from records built as the runner builds them (idefics prompt format, 32 random
demos from the synthetic support set; the generation stands in for the model's: a few words), measured
on the synthetic data and scaled by the question count. No model is loaded.

    .venv/bin/python benchmarks/sample_log_size.py [--shots 32] [--queries 50]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evalkit.data.skips import Skips
from evalkit.prompts.builder import prompt_text, query_prompts
from evalkit.registry import get_task
from evalkit.run.config import RunConfig
from evalkit.run.journal import query_digests
from evalkit.run.task_settings import load_task_data, setting_demos
from evalkit.run.writer import COMPACT_LEAVES_OUT
from evalkit.shots.random_shots import RandomShots, support_set
from evalkit.synthetic.vqav2 import write_vqav2

VQAV2_VAL_QUESTIONS = 214_354


def records(shots: int, queries: int, root: Path) -> list[dict]:
    """samples.jsonl records (full) for `queries` synthetic VQAv2 questions at `shots` demos."""
    task = get_task("vqav2")
    config = RunConfig(model="unused", tasks=["vqav2"], shots=[shots], seeds=[42], output=root / "run",
                       data_dirs={"vqav2": str(root / "vqav2")}, limit=queries)
    pool, chosen = load_task_data(task, config, Skips())
    demos = setting_demos(task, config, chosen, shots, lambda: RandomShots(support_set(pool, 2048, None, 42), 42))
    template = task.template("idefics")
    prompt_sets = [query_prompts(template, d, q, False) for q, d in zip(chosen, demos)]
    digests = query_digests(prompt_sets, "\n")
    return [{"task": "vqav2", "shots": shots, "seed": 42, "id": q.id, "demo_ids": [d.example.id for d in ds],
             "prompt": prompt_text(p[0]), "prompt_hash": h, "generation": " two cats", "prediction": "2",
             "score": 1.0} for q, ds, p, h in zip(chosen, demos, prompt_sets, digests)]


def line_bytes(record: dict) -> int:
    return len((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_vqav2(root / "vqav2", seed=0, scale=1.0)
        full = records(args.shots, args.queries, root)
    compact = [{k: v for k, v in r.items() if k not in COMPACT_LEAVES_OUT} for r in full]
    print(f"measured on {len(full)} synthetic VQAv2 records at {args.shots} shots; "
          f"scaled to {VQAV2_VAL_QUESTIONS:,} questions (one seed)")
    for level, rows in (("full", full), ("compact", compact)):
        per_record = sum(map(line_bytes, rows)) / len(rows)
        total = per_record * VQAV2_VAL_QUESTIONS
        print(f"{level:8s} {per_record:10,.0f} bytes/record  {total / 1e6:10,.1f} MB")
    print(f"{'none':8s} {0:10,d} bytes/record  {0:10,.1f} MB (no samples.jsonl)")


if __name__ == "__main__":
    main()
