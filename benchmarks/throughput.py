"""Generation throughput on k-shot VQAv2 prompts: evalkit (batched, inputs prepared ahead, vision
features reused, image keys/values projected once per batch) vs evalkit without the vision cache vs a
naive loop (processor + transformers' generate, one query at a time, every image re-encoded: how the
reference harnesses run). One run, ratios side by side.

    .venv/bin/python benchmarks/throughput.py [--queries 32] [--shots 0,8,32] [--support 128]
    .venv/bin/python benchmarks/throughput.py --idefics-9b-shape --dtype bfloat16 --shots 8   # on a GPU

The prompts are the harness's own (synthetic VQAv2, the task plugin's template, random shots drawn
from a support set of `--support` questions). A full VQAv2 run draws 2048 support questions for
214k queries, so every support image recurs hundreds of times; `--support` keeps that reuse in a
short benchmark (32 queries x 32 shots over 128 support questions: each support image about 8 times).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from transformers import IdeficsForVisionText2Text

from evalkit.assets import TRAINED_MODEL, tokenizer_corpus
from evalkit.batching import generate_all
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.offline import TinySize, build_tiny_idefics
from evalkit.prompts.builder import Demo, build_prompt
from evalkit.registry import get_task
from evalkit.shots.random_shots import RandomShots, draw_support
from evalkit.synthetic.vqav2 import write_vqav2

# IDEFICS-9B's shapes (LLaMA-7B text model, ViT-H/14 vision encoder, perceiver with 64 latents,
# cross-attention every 4 layers) with random weights; only meant for a GPU.
IDEFICS_9B_SHAPE = TinySize(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                            vision_embed_dim=1280, vision_layers=32, vision_heads=16, image_size=224, patch_size=14,
                            perceiver_latents=64, vocab_size=512, use_resampler=True)


# A mid-size random IDEFICS with IDEFICS-9B's balance of vision and language work: per 32-shot query
# the 9B spends about as many FLOPs in its vision encoder (33 images x 257 tokens x 630M parameters)
# as in its language model (~700 tokens x 7B). Here: 33 x 50 tokens x 10.6M vs ~700 x 25M.
MID_9B_BALANCE = TinySize(hidden_size=512, intermediate_size=1376, num_hidden_layers=8, num_attention_heads=8,
                          vision_embed_dim=384, vision_layers=6, vision_heads=6, image_size=112, patch_size=16)


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


def naive_loop(adapter: IdeficsAdapter, model, prompts: list, settings, stop_strings) -> list[str]:
    """One query at a time with transformers' own model (`model`): the processor decodes and
    preprocesses every image, the model encodes them and re-projects them at every new token."""
    outputs = []
    for prompt in prompts:
        inputs = adapter.processor(text=[[s if isinstance(s, str) else s.load() for s in prompt]], return_tensors="pt",
                                   add_end_of_utterance_token=False)
        inputs = {key: value.to(adapter.device) for key, value in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(adapter.dtype)
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


def model_flops_per_token(adapter: IdeficsAdapter) -> float:
    """2 x parameters: the usual forward estimate (attention over the context left out)."""
    return 2.0 * sum(p.numel() for p in adapter.model.parameters())


def measure(name: str, checkpoint: Path, data: Path, args: argparse.Namespace) -> None:
    load = dict(dtype=args.dtype, device=args.device, attention=args.attention)
    cached = IdeficsAdapter.from_pretrained(str(checkpoint), **load)
    plain = IdeficsAdapter.from_pretrained(str(checkpoint), vision_cache_mb=0, **load)
    untouched = IdeficsForVisionText2Text.from_pretrained(str(checkpoint), dtype=plain.dtype).to(plain.device).eval()
    print(f"\n{name}: {cached.describe()['parameters'] / 1e6:.1f}M parameters, {cached.describe()['dtype']} on "
          f"{cached.describe()['device']}, attention {cached.describe()['attention']}, batch {args.batch_size}, "
          f"workers {args.workers}, {args.queries} queries")
    print("| shots | naive q/s | evalkit no cache q/s | evalkit q/s | evalkit / naive | cache gain | same answers |")
    print("|---|---|---|---|---|---|---|")
    for shots in args.shots:
        prompts, task = vqav2_prompts(data, args.queries, shots, args.support)
        settings, stops = task.generation, task.template("idefics").stop_strings
        for adapter in (plain, cached):  # warm-up (first-call allocations), then a cold cache for the row
            evalkit_generate(adapter, prompts[:2], settings, stops, args.batch_size, 0)
        cached.vision_cache = type(cached.vision_cache)(cached.vision_cache.limit_bytes)
        naive_time, naive = ((0.0, None) if args.skip_naive else
                             timed(naive_loop, plain, untouched, prompts, settings, stops))
        plain_time, uncached = timed(evalkit_generate, plain, prompts, settings, stops, args.batch_size, args.workers)
        fast_time, fast = timed(evalkit_generate, cached, prompts, settings, stops, args.batch_size, args.workers)
        same = fast == uncached and (naive is None or naive == fast)
        rate = lambda seconds: len(prompts) / seconds if seconds else float("nan")  # noqa: E731
        print(f"| {shots} | {rate(naive_time):.2f} | {rate(plain_time):.2f} | {rate(fast_time):.2f} | "
              f"{naive_time / fast_time:.1f}x | {plain_time / fast_time:.1f}x | {'yes' if same else 'NO'} |")
        if torch.cuda.is_available():
            tokens = sum(len(cached.prepare([p]).input_ids[0]) for p in prompts)
            achieved = model_flops_per_token(cached) * tokens / fast_time
            peak = args.peak_tflops * 1e12
            print(f"  prefill tokens {tokens}, model FLOPs utilisation (prefill estimate) {100 * achieved / peak:.1f}% "
                  f"of {args.peak_tflops:.0f} TFLOP/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--shots", type=lambda s: [int(x) for x in s.split(",")], default=[0, 8, 32])
    parser.add_argument("--support", type=int, default=128, help="support questions the demos are drawn from")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--attention", default="auto")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--idefics-9b-shape", action="store_true", help="only the 9B-shaped random model (GPU)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989)")
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "vqav2"
        write_vqav2(data, seed=0, scale=0.2)
        if args.idefics_9b_shape:
            model = build_tiny_idefics(Path(folder) / "9b", tokenizer_corpus(), seed=0, size=IDEFICS_9B_SHAPE)
            measure("IDEFICS-9B-shaped random model", model, data, args)
            return
        measure("offline tiny model (embedded, trained)", TRAINED_MODEL, data, args)
        mid = build_tiny_idefics(Path(folder) / "mid", tokenizer_corpus(), seed=0, size=MID_9B_BALANCE)
        measure("mid-size random IDEFICS (9B's vision/language balance)", mid, data, args)


if __name__ == "__main__":
    main()
