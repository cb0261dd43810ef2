"""How far predictions move between batch size 1 and 16 in one dtype (bfloat16 is a GPU's default):
VQAv2 answers generated, and ImageNet choice scores, through evalkit's own batching.

    python benchmarks/batch_invariance.py --dtype bfloat16 --models tiny,9b     # on a GPU (gpu_check.sh)
    .venv/bin/python benchmarks/batch_invariance.py --dtype float32             # CPU: tiny, float32

In float32 the predictions do not move (the test suite checks it). In bfloat16 a batch pads prompts
to its longest and the kernels sum in other orders, so a score can move by the format's rounding
(about 1e-2 of a log-probability) and a near tie can flip: this script says how often it does,
rather than hiding it. The random-weight 9B-shaped model's answers are cut at `--answer-tokens`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from statistics import fmean

import torch

from bench_models import load_benchmark_model
from classification_scoring import imagenet_prompts
from evalkit.run.batching import generate_all, score_all
from evalkit.data.classification import imagenet_class_names
from evalkit.prompts.builder import render_continuation
from evalkit.registry import get_task
from evalkit.synthetic.vqav2 import write_vqav2
from throughput import vqav2_prompts


def answers(adapter, prompts, settings, stops, batch_size: int) -> list[str]:
    out: dict[int, str] = {}
    generate_all(adapter, prompts, batch_size, settings, stops, lambda i, t: out.update(zip(i, t)))
    return [out[i] for i in range(len(prompts))]


def choice_scores(adapter, prompts, candidates, batch_size: int) -> list[list[float]]:
    out: dict[int, list[float]] = {}
    score_all(adapter, prompts, list(range(len(prompts))), lambda i: candidates, batch_size,
              lambda done, scores: out.update({i: [s.total for s in row] for i, row in zip(done, scores)}))
    return [out[i] for i in range(len(prompts))]


def compare(name: str, adapter, data: Path, args: argparse.Namespace, cut: int | None) -> None:
    prompts, task = vqav2_prompts(data, args.queries, args.shots, support=64)
    settings = task.generation if cut is None else replace(task.generation, max_new_tokens=cut)
    stops = task.template("idefics").stop_strings
    alone, batched = (answers(adapter, prompts, settings, stops, size) for size in (1, args.batch))
    same_answers = sum(a == b for a, b in zip(alone, batched))

    names = list(dict.fromkeys(imagenet_class_names()))[: args.classes]
    template = get_task("imagenet").template("idefics")
    candidates = [render_continuation(template, n) for n in names]
    image_prompts = imagenet_prompts(args.queries, args.shots, names, seed=1)
    single, together = (choice_scores(adapter, image_prompts, candidates, size) for size in (1, args.batch))
    moved = [abs(a - b) for row_a, row_b in zip(single, together) for a, b in zip(row_a, row_b)]
    same_top = sum(max(range(len(a)), key=a.__getitem__) == max(range(len(b)), key=b.__getitem__)
                   for a, b in zip(single, together))
    print(f"| {name} | {adapter.describe()['dtype']} | {same_answers}/{len(prompts)} | {same_top}/{len(image_prompts)} "
          f"| {max(moved):.2e} | {fmean(moved):.2e} | {os.getloadavg()[0]:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny", help="of tiny (embedded), mid, 9b (a GPU)")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16, help="the batch compared with batch 1")
    parser.add_argument("--classes", type=int, default=100, help="ImageNet names scored per query")
    parser.add_argument("--answer-tokens", type=int, default=5, help="new tokens per answer of random models")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"batch 1 against batch {args.batch}: {args.queries} VQAv2 queries and {args.queries} ImageNet queries "
          f"({args.classes} classes), {args.shots} shots")
    print(f"| model | dtype | same answers | same top-1 class | largest score move | mean score move | load |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "vqav2"
        write_vqav2(data, seed=0, scale=0.2)
        for choice in args.models.split(","):
            name, adapter, untouched = load_benchmark_model(choice, Path(folder), args.dtype, args.device)
            del untouched
            compare(name, adapter, data, args, None if choice == "tiny" else args.answer_tokens)
            del adapter


if __name__ == "__main__":
    main()
