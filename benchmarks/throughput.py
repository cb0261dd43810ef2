"""Generation throughput on k-shot VQAv2 prompts: evalkit (batched, inputs prepared ahead, vision
features reused, image keys/values projected once per batch) vs evalkit without the vision cache vs a
naive loop (processor + transformers' generate, one query at a time, every image re-encoded: how the
reference harnesses run). One run, ratios side by side.

    .venv/bin/python benchmarks/throughput.py [--queries 32] [--shots 0,8,16,32] [--support 128]
    .venv/bin/python benchmarks/throughput.py --idefics-9b-shape --dtype bfloat16 --shots 8   # on a GPU

The prompts are the harness's own (synthetic VQAv2, the task plugin's template, random shots drawn
from a support set of `--support` questions). A full VQAv2 run draws 2,048 support questions for
214k queries, so after its first pass over the support set every demo image is already encoded. The
cache is timed twice: cold (empty at the start of this short run, 32 queries x 32 shots over 128
support questions) and warm (the demo images encoded beforehand, each query's own image not): the
state of all but the start of a full run. Random-weight models never write the stop string, so
their answers are cut at `--answer-tokens` new tokens (2: what the trained model writes, a word and
the newline); otherwise every query would decode 15 tokens, which no trained model does on VQAv2.
The "vision FLOPs" column is the share of one prompt's forward spent in the vision encoder and
perceiver, counted by torch's FlopCounterMode.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from bench_models import load_benchmark_model
from evalkit.run.batching import generate_all
from evalkit.models.flops import flop_counter
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.vision_cache import VisionFeatureCache
from evalkit.prompts.builder import Demo, build_prompt, prompt_images
from evalkit.registry import get_task
from evalkit.shots.random_shots import RandomShots, draw_support
from evalkit.synthetic.vqav2 import write_vqav2

def vqav2_prompts(data: Path, queries: int, shots: int, support: int) -> tuple[list, object]:
    task = get_task("vqav2")
    template = task.template("idefics")
    pool = task.data.load(str(data), "support")
    chosen = RandomShots(draw_support(pool, support, seed=42), seed=42)
    questions = task.data.load(str(data), "query")[:queries]
    prompts = []
    for query in questions:
        demos = [Demo(e, task.demo_answer(e), show_image=shots > 0) for e in chosen.select(query, max(shots, 2))]
        prompts.append(build_prompt(template, demos, query))
    return prompts, task


def processor_inputs(adapter: IdeficsAdapter, prompt: list) -> dict[str, torch.Tensor]:
    """One prompt as transformers' processor writes it: token ids, masks and every image's pixels."""
    inputs = adapter.processor(text=[[s if isinstance(s, str) else s.load() for s in prompt]], return_tensors="pt",
                               add_end_of_utterance_token=False)
    inputs = {key: value.to(adapter.device) for key, value in inputs.items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(adapter.dtype)
    return inputs


def naive_loop(adapter: IdeficsAdapter, model, prompts: list, settings, stop_strings) -> list[str]:
    """One query at a time with transformers' own model (`model`): the processor decodes and
    preprocesses every image, the model encodes them and re-projects them at every new token."""
    outputs = []
    for prompt in prompts:
        inputs = processor_inputs(adapter, prompt)
        with torch.inference_mode():
            output = model.generate(
                **inputs, max_new_tokens=settings.max_new_tokens, num_beams=1, do_sample=False,
                bad_words_ids=[[token] for token in adapter.image_token_ids],
                eos_token_id=[adapter.tokenizer.eos_token_id], pad_token_id=adapter.tokenizer.pad_token_id,
                stop_strings=list(stop_strings), tokenizer=adapter.tokenizer)
        outputs.append(adapter.tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
    return outputs


def evalkit_generate(adapter: IdeficsAdapter, prompts: list, settings, stop_strings, batch_size: int,
                     workers: int) -> list[str]:
    outputs: dict[int, str] = {}
    generate_all(adapter, prompts, batch_size, settings, stop_strings, lambda i, t: outputs.update(zip(i, t)),
                 workers=workers)
    return [outputs[i] for i in range(len(prompts))]


def timed(function, *args) -> tuple[float, list[str]]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = function(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def encode_support_images(adapter: IdeficsAdapter, prompts: list) -> None:
    """Empty the cache, then store every demo image of `prompts` but not the queries' own: the state
    of a full run once its support set has been seen (2,048 support questions against 214k queries)."""
    demos = {image.key: image for prompt in prompts for image in prompt_images(prompt)[:-1]}
    adapter.vision_cache = VisionFeatureCache(adapter.vision_cache.limit_bytes)
    if demos:
        pixels = adapter.inputs.pixels(list(demos.values()))
        adapter.vision_cache.features(list(demos), lambda keys: adapter.encode_images(torch.stack([pixels[k] for k in keys])))
    adapter.vision_cache.hits = adapter.vision_cache.misses = 0


def hit_rate(cache: VisionFeatureCache) -> str:
    return f"{100 * cache.hits / max(1, cache.hits + cache.misses):.0f}%"


def prompt_flops(adapter: IdeficsAdapter, model, prompt: list) -> tuple[float, float]:
    """FLOPs of one prompt's forward with pixels in transformers' own model (torch's FlopCounterMode):
    in all, and in the vision encoder and perceiver."""
    counter = flop_counter()  # CPU attention counted too
    with counter, torch.no_grad():  # not inference_mode: the counter's module hooks need autograd tensors
        model(**processor_inputs(adapter, prompt))
    counts = counter.get_flop_counts()
    vision = sum(sum(counts.get(f"IdeficsForVisionText2Text.model.{part}", {}).values())
                 for part in ("vision_model", "perceiver_resampler"))
    return counter.get_total_flops(), vision


def utilisation(flops: float, seconds: float, peak_tflops: float) -> str:
    return f"{100 * flops / seconds / (peak_tflops * 1e12):.1f}%"


def measure(name: str, cached: IdeficsAdapter, untouched: Any, data: Path, args: argparse.Namespace,
            answer_tokens: int | None = None) -> None:
    """`answer_tokens` caps generation for random weights, which never write the stop string."""
    plain = IdeficsAdapter(cached.model, cached.processor, cached.name, cached.dtype, cached.device, vision_cache_mb=0)
    print(f"\n{name}: {cached.describe()['parameters'] / 1e6:.1f}M parameters, {cached.describe()['dtype']} on "
          f"{cached.describe()['device']}, attention {cached.describe()['attention']}, batch {args.batch_size}, "
          f"workers {args.workers}, {args.queries} queries, support {args.support}"
          + (f", answers cut at {answer_tokens} new tokens" if answer_tokens else ""))
    print("cold: the cache starts empty and fills during this short run; warm: the demo images are already "
          "encoded (a full run after its first pass over the support set), each query's own image is not")
    print("| shots | vision FLOPs | naive q/s | no cache q/s | cold q/s | warm q/s | over naive (cold / warm) "
          "| cache gain (cold / warm) | cache hits (cold / warm) | same answers |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for shots in args.shots:
        prompts, task = vqav2_prompts(data, args.queries, shots, args.support)
        settings, stops = task.generation, task.template("idefics").stop_strings
        if answer_tokens:
            settings = replace(settings, max_new_tokens=answer_tokens)
        for adapter in (plain, cached):  # warm-up (first-call allocations)
            evalkit_generate(adapter, prompts[:2], settings, stops, args.batch_size, 0)
        flops, vision_flops = prompt_flops(plain, untouched, prompts[0])
        naive_time, naive = ((0.0, None) if args.skip_naive else
                             timed(naive_loop, plain, untouched, prompts, settings, stops))
        plain_time, uncached = timed(evalkit_generate, plain, prompts, settings, stops, args.batch_size, args.workers)
        cached.vision_cache = VisionFeatureCache(cached.vision_cache.limit_bytes)
        cold_time, cold = timed(evalkit_generate, cached, prompts, settings, stops, args.batch_size, args.workers)
        cold_hits = hit_rate(cached.vision_cache)
        encode_support_images(cached, prompts)
        warm_time, warm = timed(evalkit_generate, cached, prompts, settings, stops, args.batch_size, args.workers)
        same = cold == uncached == warm and (naive is None or naive == cold)
        rate = lambda seconds: len(prompts) / seconds if seconds else float("nan")  # noqa: E731
        print(f"| {shots} | {100 * vision_flops / flops:.0f}% | {rate(naive_time):.2f} | {rate(plain_time):.2f} | "
              f"{rate(cold_time):.2f} | {rate(warm_time):.2f} | "
              f"{naive_time / cold_time:.1f}x / {naive_time / warm_time:.1f}x | "
              f"{plain_time / cold_time:.1f}x / {plain_time / warm_time:.1f}x | "
              f"{cold_hits} / {hit_rate(cached.vision_cache)} | {'yes' if same else 'NO'} |", flush=True)
        if torch.cuda.is_available():  # prefill FLOPs (the first prompt's, times the prompts), decoding left out
            demo_share = shots / (shots + 1) if shots else 0.0  # warm: only each query's own image is encoded
            print(f"  model FLOPs utilisation (prefill FLOPs / time, of {args.peak_tflops:.0f} TFLOP/s): no cache "
                  f"{utilisation(flops * len(prompts), plain_time, args.peak_tflops)}, warm "
                  f"{utilisation((flops - vision_flops * demo_share) * len(prompts), warm_time, args.peak_tflops)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--shots", type=lambda s: [int(x) for x in s.split(",")], default=[0, 8, 16, 32])
    parser.add_argument("--support", type=int, default=128, help="support questions the demos are drawn from")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--attention", default="auto")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--models", default="tiny,mid", help="of tiny (embedded), mid (MID_SIZE) and 9b (a GPU)")
    parser.add_argument("--answer-tokens", type=int, default=2,
                        help="new tokens per answer for random-weight models, which never stop by themselves: "
                             "the trained model answers these prompts in 2 (a word and the newline)")
    parser.add_argument("--idefics-9b-shape", action="store_true", help="same as --models 9b")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989)")
    args = parser.parse_args()
    torch.manual_seed(0)
    choices = ["9b"] if args.idefics_9b_shape else args.models.split(",")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "vqav2"
        write_vqav2(data, seed=0, scale=0.2)
        for choice in choices:
            name, adapter, untouched = load_benchmark_model(choice, Path(folder), args.dtype, args.device,
                                                            args.attention)
            measure(name, adapter, untouched, data, args, None if choice == "tiny" else args.answer_tokens)
            del adapter, untouched


if __name__ == "__main__":
    main()
