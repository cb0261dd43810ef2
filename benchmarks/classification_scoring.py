"""ImageNet scoring (998 class names after a k-shot prompt): evalkit against OpenFlamingo's and m4's
methods, in one run, with the same model, dtype, threads and queries per batch.

    .venv/bin/python benchmarks/classification_scoring.py                      # CPU: tiny and mid, 4 and 16 shots
    python benchmarks/classification_scoring.py --models 9b --dtype bfloat16   # a GPU (benchmarks/gpu_check.sh)

The methods, each on the same batch of `--batch` queries (OpenFlamingo's default batch size, 8):
- evalkit: the batch's prompts in one forward, then every class name of every query as token tries
  (each shared prefix fed once), up to 256 candidates per forward (evalkit/models/choice_tree.py).
- OpenFlamingo (open_flamingo/eval, `get_rank_classifications` with its cache on): the batch's
  contexts in one forward, kept; then one forward per class name for the whole batch (the name's
  tokens, every query, against the kept keys/values).
- m4 (HuggingFaceM4's in-context classification): each (query, class) pair unfolded into one full
  sequence, class-major, padded to the longest of the batch's sequences, with its images' pixels
  (the vision encoder runs per sequence), cut into forwards of `--batch` sequences.
The prompts are the ImageNet task's IDEFICS template over synthetic pictures, every image its own
(no demo shared between queries) and the vision-feature cache emptied before each method, so each
encodes its images as it would in a run.

evalkit is timed whole. OpenFlamingo's class forwards are alike (the batch against one cache), so
`--of-classes` evenly spread classes are timed and scaled to 998; m4's forwards are alike too, so
`--m4-forwards` forwards are timed and scaled to the batch's 998 x batch sequences. FLOPs are
counted (torch's FlopCounterMode, the CPU attention kernel included: evalkit/models/flops.py) on
one query's work and scaled the same way. Scores are checked against the definition, one full
sequence per (query, class): m4's forwards compute exactly that for their pairs.

Why FLOPs: on a 2-core CPU every method runs at about the same FLOP rate, so seconds follow FLOPs.
On a GPU a forward of few tokens is bound by reading the weights, not by arithmetic: OpenFlamingo's
class forwards carry `batch` x (name length) tokens each (the "tokens per forward" column), far below
what keeps a GPU busy (hundreds of tokens for a 7B model), so its GPU time is at least its FLOP
share and usually more; evalkit's and m4's forwards carry thousands.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from bench_models import load_benchmark_model
from evalkit.data.classification import imagenet_class_names
from evalkit.models.choice_tree import fed_tokens
from evalkit.models.flops import flop_counter
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.idefics_features import FEATURES_KEYWORD
from evalkit.models.kv_cache import new_cache, selected_cache, with_cache
from evalkit.models.vision_cache import VisionFeatureCache
from evalkit.prompts.builder import Demo, build_prompt, render_continuation
from evalkit.registry import get_task
from evalkit.synthetic.scenes import random_scene
from evalkit.types import Example

Scores = dict[tuple[int, int], float]  # (query, class) -> total log-probability of the class name


class MemoryImage:
    """A picture drawn in memory, with a key of its own (no two prompts share an image)."""

    def __init__(self, image: Any, key: str):
        self.image, self.key = image, key

    def load(self) -> Any:
        return self.image


def imagenet_prompts(queries: int, shots: int, names: list[str], seed: int = 0) -> list[list]:
    """`queries` prompts of the ImageNet task's IDEFICS template, each with `shots` demos of random
    classes; every picture distinct."""
    template = get_task("imagenet").template("idefics")
    rng = random.Random(seed)

    def example(key: str) -> Example:
        return Example(key, MemoryImage(random_scene(rng).draw(rng), key), {}, [rng.choice(names)])

    prompts = []
    for query in range(queries):
        demos = [Demo(example(f"q{query}d{d}"), rng.choice(names)) for d in range(shots)]
        prompts.append(build_prompt(template, demos, example(f"q{query}")))
    return prompts


@dataclass
class Measured:
    """One method on one batch: time and FLOPs per query, forwards, and the scores it computed."""

    seconds: float = 0.0
    flops: float = 0.0
    forwards: float = 0.0
    tokens: float = 0.0  # token positions computed, padding included
    scores: Scores = field(default_factory=dict)

    @property
    def tokens_per_forward(self) -> float:
        return self.tokens / self.forwards if self.forwards else 0.0


class ForwardCounter:
    """Counts a model's forwards and the token positions each one computes."""

    def __init__(self, model: Any):
        self.forwards = self.tokens = 0
        self._hook = model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.forwards += 1
        self.tokens += ids.numel() if ids is not None else 0

    def close(self) -> None:
        self._hook.remove()


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(model: Any, work: Callable[[], Scores]) -> tuple[float, int, int, Scores]:
    """(seconds, forwards, token positions, scores) of `work` on `model`."""
    counter = ForwardCounter(model)
    try:
        synchronize()
        started = time.perf_counter()
        scores = work()
        synchronize()
        return time.perf_counter() - started, counter.forwards, counter.tokens, scores
    finally:
        counter.close()


def counted(work: Callable[[], Any]) -> float:
    """The FLOPs of `work`."""
    flops = flop_counter()
    with flops:
        work()
    return float(flops.get_total_flops())


def fresh_vision_cache(adapter: IdeficsAdapter) -> None:
    adapter.vision_cache = VisionFeatureCache(adapter.vision_cache.limit_bytes)


# ---- the three methods ----

def evalkit_scores(adapter: IdeficsAdapter, prompts: list[list], candidates: list[str]) -> Scores:
    fresh_vision_cache(adapter)
    batch = adapter.prepare(prompts)
    scored = adapter.score_prepared_batch(batch, prompts, [candidates] * len(prompts))
    return {(q, c): score.total for q, row in enumerate(scored) for c, score in enumerate(row)}


def openflamingo_scores(adapter: IdeficsAdapter, prompts: list[list], candidates: list[str],
                        classes: list[int]) -> Scores:
    """The batch's contexts in one forward (their images encoded there), kept; then per class one
    forward of its tokens for every query of the batch against the kept keys/values. Each query
    cross-attends, as in IDEFICS, to its latest image."""
    fresh_vision_cache(adapter)
    model, size = adapter.model, len(prompts)
    inputs = adapter.model_inputs(adapter.prepare(prompts))
    names = adapter.continuation_ids(prompts[0], candidates)  # the same tokens after every prompt
    context = new_cache(model)
    scores: Scores = {}
    with torch.inference_mode(), adapter.features.active():
        encoded = model(**inputs, **with_cache(model, context), logits_to_keep=1)
        first = torch.log_softmax(encoded.logits[:, -1].float(), dim=-1)
        features, real = adapter.attended_images(inputs)
        lengths = inputs["attention_mask"].sum(-1, keepdim=True)
        rows = torch.arange(size, device=adapter.device)
        for c in classes:
            ids = torch.tensor(names[c], device=adapter.device).expand(size, -1)
            n = ids.shape[1]
            output = model(input_ids=ids, attention_mask=torch.cat([inputs["attention_mask"], torch.ones_like(ids)], 1),
                           position_ids=lengths + torch.arange(n, device=adapter.device),
                           image_attention_mask=real[:, None, :].expand(-1, n, -1), **{FEATURES_KEYWORD: features},
                           **with_cache(model, selected_cache(model, context, rows)))
            following = torch.log_softmax(output.logits.float(), dim=-1)
            for q in range(size):
                values = [first[q, names[c][0]]] + [following[q, j - 1, names[c][j]] for j in range(1, n)]
                scores[q, c] = float(torch.stack(values).sum())
    return scores


def m4_scores(adapter: IdeficsAdapter, untouched: Any, prompts: list[list], candidates: list[str],
              pairs: list[tuple[int, int]], per_forward: int, pad_to: int) -> Scores:
    """Full sequences (prompt + class name) with their pixels through transformers' own model,
    `per_forward` per forward, left-padded to `pad_to` tokens (the batch's longest sequence)."""
    tail = prompts[0][-1]
    names = adapter.continuation_ids(prompts[0], candidates)
    scores: Scores = {}
    for start in range(0, len(pairs), per_forward):
        chunk = pairs[start:start + per_forward]
        texts = [[s if isinstance(s, str) else s.load() for s in prompts[q][:-1]] + [tail + candidates[c]]
                 for q, c in chunk]
        inputs = dict(adapter.processor(text=texts, return_tensors="pt", padding="longest",
                                        add_end_of_utterance_token=False))
        inputs = left_padded(inputs, pad_to, adapter.tokenizer.pad_token_id)
        inputs = {k: v.to(adapter.device, adapter.dtype if k == "pixel_values" else v.dtype) for k, v in inputs.items()}
        with torch.inference_mode():
            logits = untouched(**inputs).logits
        for row, (q, c) in enumerate(chunk):
            tokens = names[c]
            positions = range(pad_to - len(tokens) - 1, pad_to - 1)
            logprobs = torch.log_softmax(logits[row, pad_to - len(tokens) - 1:pad_to - 1].float(), dim=-1)
            assert inputs["input_ids"][row, -len(tokens):].tolist() == tokens, "class tokens as scored"
            scores[q, c] = float(sum(logprobs[i, t] for i, t in zip(range(len(positions)), tokens)))
    return scores


def left_padded(inputs: dict[str, torch.Tensor], length: int, pad_id: int) -> dict[str, torch.Tensor]:
    """The processor's (left-padded) tensors padded further on the left to `length` tokens."""
    extra = length - inputs["input_ids"].shape[1]
    if extra <= 0:
        return inputs
    rows = inputs["input_ids"].shape[0]
    out = dict(inputs)
    out["input_ids"] = torch.cat([torch.full((rows, extra), pad_id, dtype=torch.long), inputs["input_ids"]], 1)
    out["attention_mask"] = torch.cat([torch.zeros(rows, extra, dtype=inputs["attention_mask"].dtype),
                                       inputs["attention_mask"]], 1)
    mask = inputs["image_attention_mask"]
    out["image_attention_mask"] = torch.cat([torch.zeros(rows, extra, mask.shape[2], dtype=mask.dtype), mask], 1)
    return out


# ---- one setting ----

def spread(count: int, total: int) -> list[int]:
    """`count` indices spread evenly over range(total)."""
    count = min(count, total)
    return sorted({round(i * (total - 1) / max(1, count - 1)) for i in range(count)})


def longest_sequence(adapter: IdeficsAdapter, prompts: list[list], candidates: list[str]) -> int:
    names = adapter.continuation_ids(prompts[0], candidates)
    return max(adapter.prompt_length(p) for p in prompts) + max(len(n) for n in names)


def measure_setting(adapter: IdeficsAdapter, untouched: Any, shots: int, args: argparse.Namespace,
                    names: list[str]) -> dict[str, Measured]:
    prompts = imagenet_prompts(args.batch, shots, names, seed=shots)
    template = get_task("imagenet").template("idefics")
    candidates = [render_continuation(template, name) for name in names]
    size, classes = len(prompts), len(candidates)
    results: dict[str, Measured] = {}

    # Each method is timed without the FLOP counter (its per-operation bookkeeping would slow the many
    # small forwards of OpenFlamingo's method most), then counted on a share of the same work.
    # evalkit: timed whole; FLOPs counted on one query's work
    seconds, forwards, tokens, scores = timed(adapter.model, lambda: evalkit_scores(adapter, prompts, candidates))
    flops = counted(lambda: evalkit_scores(adapter, prompts[:1], candidates))
    results["evalkit"] = Measured(seconds / size, flops, forwards / size, tokens / size, scores)

    # OpenFlamingo: the context forward and `--of-classes` class forwards, scaled to every class
    chosen = spread(args.of_classes, classes)
    seconds, forwards, tokens, scores = timed(adapter.model, lambda: openflamingo_scores(
        adapter, prompts, candidates, chosen))
    context_seconds, _, context_tokens, _ = timed(adapter.model, lambda: openflamingo_scores(
        adapter, prompts, candidates, []))
    context_flops = counted(lambda: openflamingo_scores(adapter, prompts, candidates, []))
    class_flops = (counted(lambda: openflamingo_scores(adapter, prompts, candidates, chosen))
                   - context_flops) / len(chosen)
    scale = classes / len(chosen)
    results["OpenFlamingo"] = Measured(
        (context_seconds + (seconds - context_seconds) * scale) / size,
        (context_flops + class_flops * classes) / size,
        (1 + (forwards - 1) * scale) / size, (context_tokens + (tokens - context_tokens) * scale) / size, scores)

    # m4: `--m4-forwards` forwards of `--batch` full sequences, scaled to the batch's size x classes
    pairs = [(q, c) for c in chosen for q in range(size)][: args.m4_forwards * args.batch]
    pad_to = longest_sequence(adapter, prompts, candidates)
    seconds, forwards, tokens, scores = timed(untouched, lambda: m4_scores(
        adapter, untouched, prompts, candidates, pairs, args.batch, pad_to))
    flops = counted(lambda: m4_scores(adapter, untouched, prompts, candidates, pairs[: args.batch], args.batch,
                                      pad_to)) / min(len(pairs), args.batch)
    scale = size * classes / len(pairs)
    results["m4"] = Measured(seconds * scale / size, flops * classes, forwards * scale / size,
                             tokens * scale / size, scores)
    return results


def largest_difference(scores: Scores, reference: Scores) -> float:
    shared = [key for key in reference if key in scores]
    return max(abs(scores[key] - reference[key]) for key in shared) if shared else float("nan")


def report(name: str, shots: int, results: dict[str, Measured], load: tuple[float, float]) -> None:
    ours, of, m4 = results["evalkit"], results["OpenFlamingo"], results["m4"]
    reference = m4.scores  # one full sequence per (query, class): the definition
    for method, m in results.items():
        print(f"| {name} | {shots} | {method} | {m.seconds:.2f} | {m.flops / 1e9:,.3g} | {m.forwards:,.1f} "
              f"| {m.tokens_per_forward:,.0f} | {of.seconds / m.seconds if method != 'OpenFlamingo' else 1:.1f}x "
              f"/ {m4.seconds / m.seconds:.1f}x | {of.flops / m.flops:.1f}x / {m4.flops / m.flops:.1f}x "
              f"| {largest_difference(m.scores, reference):.1e} | {load[0]:.1f}-{load[1]:.1f} |", flush=True)
    print(f"|  |  | evalkit vs OpenFlamingo on its {len(of.scores) // max(1, len({q for q, _ in of.scores}))} "
          f"classes x every query: largest difference {largest_difference(ours.scores, of.scores):.1e} |"
          + " |" * 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny,mid", help="of tiny (embedded), mid (MID_SIZE), 9b (GPU)")
    parser.add_argument("--shots", type=lambda s: [int(x) for x in s.split(",")], default=[4, 16])
    parser.add_argument("--batch", type=int, default=8, help="queries per batch (OpenFlamingo's default: 8)")
    parser.add_argument("--classes", type=int, default=998, help="the first N of the 998 unique names")
    parser.add_argument("--of-classes", type=int, default=24, help="OpenFlamingo class forwards timed")
    parser.add_argument("--m4-forwards", type=int, default=2, help="m4 forwards (of --batch sequences) timed")
    parser.add_argument("--dtype", default="float32", help="float32 here; bfloat16 on a GPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own); on a machine busy with other work, 1 "
                             "avoids OpenMP threads waiting on each other (measured 12x slower with 2 at load 9)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.perf_counter()

    names = list(dict.fromkeys(imagenet_class_names()))[: args.classes]
    print(f"torch threads {torch.get_num_threads()}, dtype {args.dtype}, {args.batch} queries per batch, "
          f"{len(names)} class names; seconds, FLOPs (GFLOP) and forwards per query; load average (1 min) "
          "before-after each setting, on {} cores".format(os.cpu_count()))
    with tempfile.TemporaryDirectory() as folder:
        for choice in args.models.split(","):
            name, adapter, untouched = load_benchmark_model(choice, Path(folder), args.dtype, args.device)
            for model in (adapter.model, untouched):  # the FLOP counter's module hooks want no trainable
                model.requires_grad_(False)  # parameter under inference mode
            counts = fed_tokens(adapter.continuation_ids(["Category: a photo of a"],
                                                         [f" {n}." for n in names]))
            print(f"\n{name}: {adapter.describe()['parameters'] / 1e6:.1f}M parameters; the {counts['candidates']} "
                  f"names are {counts['all_tokens']:,} tokens, {counts['without_last']:,} without their last "
                  f"(what one candidate per row feeds), {counts['packed']:,} as evalkit packs them in "
                  f"{counts['rows']} tries ({counts['one_trie']:,} in one trie): "
                  f"{100 * (1 - counts['packed'] / counts['without_last']):.0f}% fewer fed tokens")
            print("| model | shots | method | s/query | GFLOP/query | forwards/query | tokens/forward "
                  "| time: OF / m4 over it | FLOPs: OF / m4 over it | largest score diff vs full sequences "
                  "| load |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for shots in args.shots:
                before = os.getloadavg()[0]
                results = measure_setting(adapter, untouched, shots, args, names)
                report(name, shots, results, (before, os.getloadavg()[0]))
            del adapter, untouched
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
