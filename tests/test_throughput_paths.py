"""The fast paths give the numbers of the plain ones: vision-feature cache, prepared inputs, DataLoader
workers, batch size, out-of-memory back-off and data-parallel processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from evalkit.assets import TRAINED_MODEL
from evalkit.run.batching import generate_all
from evalkit.cli import main
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.vision_cache import VisionFeatureCache
from evalkit.taskspec import GenerationSettings

SETTINGS = GenerationSettings(max_new_tokens=6, num_beams=1, length_penalty=1.0)


@pytest.fixture(scope="module")
def prompts(images) -> list[list]:
    """Interleaved prompts sharing support images, of different lengths, one with two images in a row."""
    demo = "Question: What colour is the shape? Answer: red\nImage:"
    return [
        ["Image:", images[0], demo, images[1], "Question: What colour is the shape? Answer:"],
        ["Image:", images[2], "Question: How many shapes are there? Answer:"],
        ["Image:", images[3], images[4], demo, images[0], demo, images[5], "Question: What shape is it? Answer:"],
        ["Question: no image here? Answer: no\nImage:", images[6], "Question: What colour is the shape? Answer:"],
    ]


def adapter(cache_mb: float) -> IdeficsAdapter:
    return IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), vision_cache_mb=cache_mb)


def processor_inputs(model: IdeficsAdapter, prompts: list[list]) -> dict[str, torch.Tensor]:
    """The prompts as `IdeficsProcessor` writes them, pixels included: what an untouched
    transformers model is given without evalkit."""
    return dict(model.processor(text=[[s if isinstance(s, str) else s.load() for s in p] for p in prompts],
                                return_tensors="pt", padding="longest", add_end_of_utterance_token=False))


def transformers_generate(model: IdeficsAdapter, prompts: list[list], max_new_tokens: int, **options) -> list[str]:
    """Greedy answers of transformers' own `generate` on the processor's pixels, with no evalkit
    code in the model (the reference every fast path is held to)."""
    from transformers import IdeficsForVisionText2Text

    untouched = IdeficsForVisionText2Text.from_pretrained(model.name).eval()
    inputs = processor_inputs(model, prompts)
    with torch.inference_mode():
        output = untouched.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    eos_token_id=[model.tokenizer.eos_token_id, model.end_of_utterance_id],
                                    bad_words_ids=[[t] for t in model.image_token_ids],
                                    pad_token_id=model.tokenizer.pad_token_id, **options)
    return model.tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def test_prepared_inputs_equal_the_idefics_processor(prompts):
    model = adapter(0)
    prepared = model.prepare(prompts)
    reference = processor_inputs(model, prompts)
    for key in ("input_ids", "attention_mask", "image_attention_mask"):
        assert torch.equal(getattr(prepared, key), reference[key]), key
    assert torch.equal(prepared.pixel_values(model.inputs.default_image_dims), reference["pixel_values"])


def test_latest_image_index_follows_the_processor_rule_on_random_sequences():
    from transformers.models.idefics.processing_idefics import image_attention_mask_for_packed_input_ids_pt

    from evalkit.models.idefics_inputs import latest_image_index

    class Tokens:  # the two ids the processor's rule reads
        eos_token_id = 2

        @staticmethod
        def convert_tokens_to_ids(token):
            return 7

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 10, (64, 40), generator=generator)  # images (7), eos (2) and text mixed
    expected, _ = image_attention_mask_for_packed_input_ids_pt(ids, Tokens())
    assert torch.equal(latest_image_index(ids, 7, 2), expected)
    assert latest_image_index(torch.tensor([[5, 7, 5, 2, 5, 7, 5]]), 7, 2).tolist() == [[-1, 0, 0, 0, -1, 1, 1]]


def test_cached_features_give_the_pixel_paths_logits_and_generations(prompts):
    cached, plain = adapter(64), adapter(0)
    logits_cached = cached.forward(cached.encode_prompts(prompts)).logits
    logits_plain = plain.forward(plain.encode_prompts(prompts)).logits
    with torch.inference_mode():
        logits_pixels = plain.model(**processor_inputs(plain, prompts)).logits
    torch.testing.assert_close(logits_cached, logits_pixels, rtol=0, atol=1e-5)
    torch.testing.assert_close(logits_plain, logits_pixels, rtol=0, atol=1e-5)
    first = cached.generate(prompts, SETTINGS, ["\n"])
    assert cached.generate(prompts, SETTINGS, ["\n"]) == first == plain.generate(prompts, SETTINGS, ["\n"])
    assert first == transformers_generate(plain, prompts, SETTINGS.max_new_tokens, stop_strings=["\n"],
                                          tokenizer=plain.tokenizer)
    stats = cached.describe()["vision_cache"]
    # 7 distinct images in 8 slots: each encoded once (img0 is reused within the first pass), the two
    # generate passes served from the cache.
    assert (stats["misses"], stats["hits"], stats["stored"]) == (7, 1 + 8 + 8, 7)


def test_cache_stays_under_its_limit_and_counts_evictions(prompts):
    one_image = adapter(64).encode_images(torch.zeros(1, 3, 32, 32))[0]
    size = one_image.numel() * one_image.element_size()
    small, plain = adapter(3 * size / 2**20), adapter(0)  # room for three images
    for prompt in prompts:  # one prompt a batch: a batch's own images are never evicted while in use
        assert small.generate([prompt], SETTINGS, ["\n"]) == plain.generate([prompt], SETTINGS, ["\n"])
    stats = small.describe()["vision_cache"]
    # [0 1] [2] -> full; prompt 3 hits 0, stores 3 (evicts 1), 4 (evicts 2), no room for 5; prompt 4's
    # image 6 evicts 0.
    assert (stats["stored"], stats["stored_bytes"], stats["evictions"]) == (3, 3 * size, 3)


def test_cache_order_is_least_recently_used():
    cache = VisionFeatureCache(limit_bytes=2 * 4)  # two float32 scalars
    encode = lambda keys: [torch.zeros(1) for _ in keys]  # noqa: E731
    cache.features(["a", "b"], encode)
    cache.features(["a"], encode)  # a is now the most recent
    cache.features(["c"], encode)  # evicts b
    assert cache.keys() == {"a", "c"} and cache.evictions == 1 and cache.hits == 1


class RunsOutOfMemory:
    """Wraps an adapter; any batch larger than `fits` raises the accelerator's out-of-memory error."""

    def __init__(self, inner: IdeficsAdapter, fits: int):
        self.inner, self.fits, self.sizes = inner, fits, []

    def generate(self, prompts, settings, stop_strings):
        self.sizes.append(len(prompts))
        if len(prompts) > self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner.generate(prompts, settings, stop_strings)


def test_out_of_memory_halves_the_batch_and_keeps_every_answer(prompts):
    model = RunsOutOfMemory(adapter(0), fits=1)
    outputs: dict[int, str] = {}
    report = generate_all(model, prompts * 2, 8, SETTINGS, ["\n"], lambda i, t: outputs.update(zip(i, t)))
    assert [b["to"] for b in report.backoffs] == [4, 2, 1] and report.final_batch_size == 1
    expected = adapter(0).generate(prompts, SETTINGS, ["\n"]) * 2
    assert [outputs[i] for i in range(8)] == expected and model.sizes[:4] == [8, 4, 2, 1]


def run_vqav2(vqav2_dir: Path, output: Path, *extra: str, limit: int = 12) -> list[dict]:
    assert main(["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2", "--shots", "0,2", "--limit", str(limit),
                 "--data-dir", str(vqav2_dir), "--output", str(output), "--no-progress", *extra]) == 0
    return [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]


def test_batch_size_workers_and_cache_do_not_change_predictions(vqav2_dir, tmp_path):
    reference = run_vqav2(vqav2_dir, tmp_path / "b1", "--batch-size", "1", "--vision-cache-mb", "0")
    fast = run_vqav2(vqav2_dir, tmp_path / "b8", "--batch-size", "8", "--workers", "2")
    assert [s["generation"] for s in fast] == [s["generation"] for s in reference]
    assert fast == reference
    results = json.loads((tmp_path / "b8" / "results.json").read_text())
    runtime = json.loads((tmp_path / "b8" / "runtime.json").read_text())
    assert results["inference"]["workers"] == 2 and runtime["vision_cache"]["hits"] > 0
    assert results["model"]["attention"] == "sdpa"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_give_the_single_process_predictions(vqav2_dir, tmp_path):
    """torchrun, 2 CPU processes (gloo): each query evaluated once, gathered, scored by rank 0."""
    single = run_vqav2(vqav2_dir, tmp_path / "single", limit=11)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(_free_port()), "-m", "evalkit.cli", "run", "--model", str(TRAINED_MODEL),
               "--tasks", "vqav2", "--shots", "0,2", "--limit", "11", "--data-dir", str(vqav2_dir),
               "--output", str(tmp_path / "two"), "--no-progress"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)
    assert finished.returncode == 0, finished.stderr[-2000:]
    two = [json.loads(line) for line in (tmp_path / "two" / "samples.jsonl").read_text().splitlines()]
    assert two == single  # odd count: one process gets a query more, none is repeated
    results = json.loads((tmp_path / "two" / "results.json").read_text())
    assert results["inference"]["processes"] == 2
    assert results["tasks"]["vqav2"]["shots"]["2"]["per_seed"]["42"]["count"] == 11


def test_image_keys_and_values_are_projected_once_per_generate_with_unchanged_answers(prompts):
    model = adapter(0)
    calls = []
    first_key_projection = model.features.projections[0][2]
    first_key_projection.projection.register_forward_hook(lambda *_: calls.append(1))
    answers = model.generate(prompts, SETTINGS, [])
    assert answers == transformers_generate(model, prompts, SETTINGS.max_new_tokens)
    assert len(calls) == 1  # one projection for the prompt, reused at every new token
    assert any(len(model.tokenizer(answer)["input_ids"]) > 2 for answer in answers)  # several new tokens


def test_stop_strings_are_matched_as_transformers_does_with_the_matcher_built_once(prompts, monkeypatch):
    from transformers.generation import stopping_criteria

    model = adapter(0)
    longer = GenerationSettings(max_new_tokens=12, num_beams=1, length_penalty=1.0)
    stops = ["\n", "Question"]
    expected = transformers_generate(model, prompts, 12, stop_strings=stops, tokenizer=model.tokenizer)
    unstopped = model.generate(prompts, longer, [])
    assert expected != unstopped  # the stop strings cut at least one answer

    built = []
    original = stopping_criteria.StopStringCriteria.__init__
    monkeypatch.setattr(stopping_criteria.StopStringCriteria, "__init__",
                        lambda self, *args: (built.append(1), original(self, *args))[1])
    assert model.generate(prompts, longer, stops) == expected
    assert model.generate(prompts, longer, list(reversed(stops)) + ["never seen"]) == expected
    assert model.generate(prompts, longer, stops) == expected
    assert len(built) == 2  # one per set of stop strings: the third call reused the first's matcher


def test_cached_perceiver_outputs_give_the_pixel_path_logits_and_generations(prompts, images, released_layout_model):
    cached = IdeficsAdapter.from_pretrained(str(released_layout_model), vision_cache_mb=64)
    plain = IdeficsAdapter.from_pretrained(str(released_layout_model), vision_cache_mb=0)
    assert len(cached.features.projections) == 2 * 2  # keys and values of the 2 cross-attention blocks
    inputs = cached.encode_prompts(prompts)
    assert inputs["image_encoder_embeddings"].shape[2] == 8  # resampled: 8 latents per image
    logits_cached = cached.forward(inputs).logits
    with torch.inference_mode():
        logits_pixels = plain.model(**processor_inputs(plain, prompts)).logits
    torch.testing.assert_close(logits_cached, logits_pixels, rtol=0, atol=1e-5)
    swapped = [[images[6] if not isinstance(s, str) else s for s in prompt] for prompt in prompts]
    with torch.inference_mode():  # the images reach the logits: the equality above is not vacuous
        assert not torch.allclose(plain.model(**processor_inputs(plain, swapped)).logits, logits_pixels, atol=1e-3)
    longer = GenerationSettings(max_new_tokens=8, num_beams=1, length_penalty=1.0)
    expected = transformers_generate(plain, prompts, 8, stop_strings=["\n"], tokenizer=plain.tokenizer)
    assert cached.generate(prompts, longer, ["\n"]) == plain.generate(prompts, longer, ["\n"]) == expected
    beams = GenerationSettings(max_new_tokens=8, num_beams=3, length_penalty=0.0)
    assert cached.generate(prompts, beams, ["\n"]) == transformers_generate(
        plain, prompts, 8, stop_strings=["\n"], tokenizer=plain.tokenizer, num_beams=3, length_penalty=0.0)


def test_choice_scores_with_reused_prompt_equal_whole_sequences_in_the_released_layout(prompts, released_layout_model):
    model = IdeficsAdapter.from_pretrained(str(released_layout_model), vision_cache_mb=64)
    candidates = [" red", " blue square", " green triangle and more", " 2"]
    fast = model.score_continuations(prompts[2], candidates, chunk_size=3)
    slow = model.score_full_sequences(prompts[2], candidates)
    assert [s.num_tokens for s in fast] == [s.num_tokens for s in slow]
    for cached, full in zip(fast, slow):
        assert cached.total == pytest.approx(full.total, abs=1e-4)
    assert len({round(s.total, 3) for s in fast}) == len(candidates)


def test_choice_scoring_with_prepared_inputs_ahead_gives_the_plain_scores(synthetic_data, tmp_path):
    def run(output: Path, *extra: str) -> list[dict]:
        assert main(["run", "--model", str(TRAINED_MODEL), "--tasks", "fairface-race", "--shots", "0,2",
                     "--limit", "6", "--data-dir", str(synthetic_data), "--output", str(output), "--no-progress",
                     *extra]) == 0
        return [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]

    reference = run(tmp_path / "plain", "--batch-size", "1", "--vision-cache-mb", "0")
    ahead = run(tmp_path / "ahead", "--batch-size", "4", "--workers", "2")
    assert len(reference) == 12
    # 4 prompts of a batch share forwards: the same answers, choice scores up to float32 rounding
    assert [{**s, "generation": None} for s in ahead] == [{**s, "generation": None} for s in reference]
    for batched, alone in zip(ahead, reference):
        assert batched["generation"] == pytest.approx(alone["generation"], abs=1e-4)
    assert len({json.dumps(sample["generation"]) for sample in reference}) == 12  # choice scores differ by query
    runtime = json.loads((tmp_path / "ahead" / "runtime.json").read_text())
    assert runtime["vision_cache"]["hits"] > 0


class ScoringRunsOutOfMemory:
    """Wraps an adapter; scoring more than `fits` choices in one forward raises out-of-memory."""

    choices_per_forward = 8

    def __init__(self, inner: IdeficsAdapter, fits: int):
        self.inner, self.fits, self.sizes = inner, fits, []

    def score_continuations(self, prompt, continuations, chunk_size=None):
        self.sizes.append(chunk_size)
        if min(chunk_size, len(continuations)) > self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner.score_continuations(prompt, continuations, chunk_size=chunk_size)


def test_out_of_memory_while_scoring_halves_the_choices_per_forward_and_keeps_every_score(prompts):
    from evalkit.run.batching import score_all

    choices = [" red", " blue", " green", " yellow", " purple"]
    model = ScoringRunsOutOfMemory(adapter(0), fits=2)
    recorded: dict[int, list] = {}
    report = score_all(model, prompts, [0, 1, 2, 3], lambda i: choices, 3, lambda i, s: recorded.update(zip(i, s)))
    assert report.backoffs == [{"from": 8, "to": 4, "after_prompts": 0}, {"from": 4, "to": 2, "after_prompts": 0}]
    assert model.sizes == [8, 4, 2, 2, 2, 2]  # the first prompt retried twice, the others at 2 from the start
    expected = [adapter(0).score_continuations(prompt, choices) for prompt in prompts]
    assert [[round(s.total, 4) for s in recorded[i]] for i in range(4)] == \
        [[round(s.total, 4) for s in scores] for scores in expected]


def test_scoring_back_off_is_recorded_in_the_results_and_keeps_the_scores(synthetic_data, tmp_path, monkeypatch):
    def run(output: Path) -> list[dict]:
        assert main(["run", "--model", str(TRAINED_MODEL), "--tasks", "fairface-race", "--shots", "0", "--limit", "4",
                     "--data-dir", str(synthetic_data), "--output", str(output), "--no-progress"]) == 0
        return [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]

    reference = run(tmp_path / "plain")
    original = IdeficsAdapter.score_prepared_batch

    def runs_out_of_memory(self, batch, prompts, continuations, chunk_size=None):
        if chunk_size > 2:  # 7 choices: more than 2 per forward does not fit
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(self, batch, prompts, continuations, chunk_size)

    monkeypatch.setattr(IdeficsAdapter, "choices_per_forward", 8)
    monkeypatch.setattr(IdeficsAdapter, "score_prepared_batch", runs_out_of_memory)
    backed_off = run(tmp_path / "backed-off")
    assert [s["prediction"] for s in backed_off] == [s["prediction"] for s in reference]
    for ours, plain in zip(backed_off, reference):  # fewer choices per forward: float32 rounding only
        assert ours["generation"] == pytest.approx(plain["generation"], abs=1e-4)
    results = json.loads((tmp_path / "backed-off" / "results.json").read_text())
    assert results["inference"]["batch_size_backoffs"] == [
        {"setting": "fairface-race_0shot_seed42", "unit": "choices per forward", "from": 8, "to": 4, "after_prompts": 0},
        {"setting": "fairface-race_0shot_seed42", "unit": "choices per forward", "from": 4, "to": 2, "after_prompts": 0}]


def test_out_of_memory_with_nothing_left_to_halve_is_a_one_line_error(prompts):
    from evalkit.run.batching import score_all
    from evalkit.errors import EvalkitError

    with pytest.raises(EvalkitError, match="out of memory with a batch of one prompt; use a smaller --dtype"):
        generate_all(RunsOutOfMemory(adapter(0), fits=0), prompts, 2, SETTINGS, ["\n"], lambda i, t: None)
    with pytest.raises(EvalkitError, match="out of memory with scoring one choice after one prompt"):
        score_all(ScoringRunsOutOfMemory(adapter(0), fits=0), prompts, [0], lambda i: [" red", " blue"], 1,
                  lambda i, s: None)


def test_benchmark_flop_counter_counts_attention_on_the_cpu():
    """torch's FlopCounterMode counts CPU attention as nothing; the benchmarks' counter adds it:
    q [1, 2 heads, 5, 8] against k, v [1, 2, 7, 8] is two matrix products of 2 x (2 x 5 x 8 x 7)."""
    from torch.utils.flop_counter import FlopCounterMode

    from evalkit.models.flops import flop_counter

    q, k, v = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 7, 8), torch.randn(1, 2, 7, 8)
    ours, torchs = flop_counter(), FlopCounterMode(display=False)
    with ours, torch.inference_mode():
        torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.zeros(1, 1, 5, 7))
    with torchs, torch.inference_mode():
        torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.zeros(1, 1, 5, 7))
    assert ours.get_total_flops() == 2 * (2 * 2 * 5 * 8 * 7)
    assert torchs.get_total_flops() == 0
