"""The image-text adapter on offline Idefics3 (SmolVLM) and LLaVA models: chat-template and plain
prompts, the image tokens the processor inserts, cached scoring against whole sequences, and runs."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.metrics.captioning import CaptionMetric
from evalkit.models.image_text import ImageTextAdapter
from evalkit.models.select import load_adapter
from evalkit.prompts.builder import Demo, build_prompt, render_continuation
from evalkit.registry import get_task
from evalkit.run.runner import Run, RunConfig
from evalkit.synthetic import write_coco
from evalkit.taskspec import GenerationSettings
from evalkit.types import Example

FAMILIES = ["idefics3_model", "llava_model"]


@pytest.fixture(scope="module")
def adapters(idefics3_model, llava_model) -> dict[str, ImageTextAdapter]:
    return {"idefics3": load_adapter(str(idefics3_model), device="cpu"),
            "llava": load_adapter(str(llava_model), device="cpu")}


@pytest.fixture(scope="module")
def data_dir(vqav2_dir, tmp_path_factory) -> Path:
    """vqav2/ (the session's synthetic copy) and coco/ side by side, the layout of `evalkit make-data`."""
    root = tmp_path_factory.mktemp("families-data")
    (root / "vqav2").symlink_to(vqav2_dir)
    write_coco(root / "coco", seed=1)
    return root


@pytest.fixture(scope="module")
def examples(vqav2_dir) -> list[Example]:
    return get_task("vqav2").data.load(vqav2_dir, "query")[:3]


def one_shot(examples: list[Example], prompt_format: str, task: str = "vqav2"):
    template = get_task(task).templates[prompt_format]
    return template, build_prompt(template, [Demo(examples[0], "red")], examples[1])


def test_chat_prompt_is_rendered_by_the_models_chat_template(adapters, examples):
    _, prompt = one_shot(examples, "chat-template")
    q0, q1 = examples[0].fields["question"], examples[1].fields["question"]
    ask = "\nAnswer with a single word or phrase."
    text, images = adapters["idefics3"].render(prompt)
    assert text == (f"<s>User:<image>{q0}{ask}<end_of_utterance>\nAssistant: red<end_of_utterance>\n"
                    f"User:<image>{q1}{ask}<end_of_utterance>\nAssistant:")
    assert images == [examples[0].image, examples[1].image]
    text, _ = adapters["llava"].render(prompt)
    assert text == f"<s>USER: <image>\n{q0}{ask} ASSISTANT: red</s> USER: <image>\n{q1}{ask} ASSISTANT:"


def test_plain_prompt_puts_the_image_token_where_each_image_is(adapters, examples):
    _, prompt = one_shot(examples, "openflamingo")
    q0, q1 = examples[0].fields["question"], examples[1].fields["question"]
    text, images = adapters["llava"].render(prompt)
    assert text == f"<image>Question:{q0} Short answer:red<|endofchunk|><image>Question:{q1} Short answer:"
    assert len(images) == 2


@pytest.mark.parametrize("family, tokens_per_image", [("idefics3", (32 // 8) ** 2 // 2 ** 2), ("llava", (32 // 8) ** 2)])
def test_processor_expands_each_image_into_the_models_image_tokens(adapters, examples, family, tokens_per_image):
    """Idefics3: (image / patch)^2 patches, pixel-shuffled by 2x2; LLaVA: one token per patch, CLS dropped."""
    adapter = adapters[family]
    _, prompt = one_shot(examples, "chat-template")
    inputs = adapter._encode_prompts([prompt])
    image_id = adapter.tokenizer.convert_tokens_to_ids("<image>")
    assert int((inputs["input_ids"] == image_id).sum()) == 2 * tokens_per_image


@pytest.mark.parametrize("family", ["idefics3", "llava"])
@pytest.mark.parametrize("prompt_format", ["chat-template", "openflamingo", "idefics"])
def test_cached_scores_equal_whole_sequence_scores(adapters, examples, family, prompt_format):
    adapter = adapters[family]
    template, prompt = one_shot(examples, prompt_format)
    continuations = [render_continuation(template, answer) for answer in ("yes", "no", "red square")]
    cached = adapter.score_continuations(prompt, continuations, chunk_size=2)
    whole = adapter.score_full_sequences(prompt, continuations)
    assert [c.num_tokens for c in cached] == [w.num_tokens for w in whole]
    assert [c.total for c in cached] == pytest.approx([w.total for w in whole], abs=1e-4)


def test_chat_continuation_ends_with_the_templates_end_of_turn(adapters, examples):
    template, prompt = one_shot(examples, "chat-template")
    _, added = adapters["idefics3"].continuation_texts(prompt, [render_continuation(template, "yes")])
    assert added == [" yes<end_of_utterance>"]
    template, prompt = one_shot(examples, "chat-template", task="imagenet")  # text before {answer}
    text, added = adapters["llava"].continuation_texts(prompt, [render_continuation(template, "cat")])
    assert text.endswith("ASSISTANT: a photo of a") and added == [" cat.</s>"]


def test_generation_never_writes_image_tokens(adapters, examples):
    adapter = adapters["idefics3"]
    _, prompt = one_shot(examples, "idefics")
    banned = {adapter.tokenizer.convert_tokens_to_ids(t) for t in ("<image>", "<fake_token_around_image>", "<global-img>")}
    assert banned <= set(adapter.banned_ids)
    texts = adapter.generate([prompt, prompt[2:]], GenerationSettings(max_new_tokens=6), stop_strings=())
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)


def test_without_chat_template_plain_text_is_the_default(llava_model, adapters, examples):
    adapter = adapters["llava"]
    assert adapter.default_prompt_format == "chat-template"
    processor = adapter.processor
    saved, processor.chat_template = processor.chat_template, None
    try:
        base = ImageTextAdapter(adapter.model, processor, str(llava_model), adapter.dtype, adapter.device)
        assert base.default_prompt_format == "idefics"
        with pytest.raises(EvalkitError, match="no chat template"):
            base.render(one_shot(examples, "chat-template")[1])
    finally:
        processor.chat_template = saved


def read_samples(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("family", ["idefics3", "llava"])
def test_run_vqav2_and_coco_at_0_and_4_shots(family, adapters, data_dir, tmp_path):
    """The task plugins as they are; COCO without METEOR (its Java start alone takes longer than the run)."""
    config = RunConfig(model=family, tasks=["vqav2", "coco"], shots=[0, 4], seeds=[42], output=tmp_path,
                       data_dirs={"*": str(data_dir)}, limit=2, support_size=20, progress=False)
    coco = replace(get_task("coco"), metric=CaptionMetric(with_meteor=False))
    results = Run(config, task_specs={"coco": coco}).execute(adapters[family])
    assert results["model"]["adapter"] == "image-text" and results["model"]["model_type"] == family
    for task, metric in (("vqav2", "vqa_accuracy"), ("coco", "cider")):
        assert results["tasks"][task]["prompt_format"] == "chat-template"
        assert results["tasks"][task]["metric"] == metric
        assert set(results["tasks"][task]["shots"]) == {"0", "4"}
        assert all(isinstance(results["tasks"][task]["shots"][k]["mean"], float) for k in ("0", "4"))
    samples = read_samples(tmp_path)
    assert len(samples) == 2 * 2 * 2
    for sample in samples:
        images = 1 + (4 if sample["shots"] == 4 else 0)  # 0 shots: 2 demos, text only (Flamingo)
        assert sample["prompt"].count("<image>") == images and len(sample["demo_ids"]) == (4 if sample["shots"] else 2)
        assert sample["prompt"].count("<|evalkit:user|>") == len(sample["demo_ids"]) + 1


@pytest.mark.parametrize("model", FAMILIES)
def test_cli_run_in_openflamingo_format_writes_protocol_prompts(model, request, data_dir, vqav2_dir, tmp_path):
    folder = request.getfixturevalue(model)
    assert main(["run", "--model", str(folder), "--tasks", "vqav2", "--shots", "0,4", "--data-dir", str(data_dir),
                 "--limit", "2", "--support-size", "20", "--prompt-format", "openflamingo", "--output", str(tmp_path),
                 "--no-progress"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["tasks"]["vqav2"]["prompt_format"] == "openflamingo" and results["model"]["adapter"] == "image-text"
    task = get_task("vqav2")
    everything = {e.id: e for role in ("support", "query") for e in task.data.load(vqav2_dir, role)}
    samples = read_samples(tmp_path)
    assert sorted(s["shots"] for s in samples) == [0, 0, 4, 4]
    for sample in samples:
        image = "<image>" if sample["shots"] else ""  # 0 shots: the demos without their images
        demos = "".join(f"{image}Question:{everything[i].fields['question']} Short answer:"
                        f"{task.demo_answer(everything[i])}<|endofchunk|>" for i in sample["demo_ids"])
        assert sample["prompt"] == demos + f"<image>Question:{everything[sample['id']].fields['question']} Short answer:"


def test_idefics_adapter_refuses_the_chat_template_format(tiny_model, data_dir, tmp_path, capsys):
    assert main(["run", "--model", str(tiny_model), "--tasks", "vqav2", "--shots", "0", "--data-dir", str(data_dir),
                 "--limit", "1", "--prompt-format", "chat-template", "--output", str(tmp_path), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("evalkit: error: ") and "use --prompt-format idefics-instruct" in error


@pytest.mark.parametrize("family", ["idefics3", "llava"])
@pytest.mark.parametrize("prompt_format", ["chat-template", "idefics"])
def test_prompt_length_is_the_processors_sequence_length(adapters, examples, family, prompt_format):
    """What the context check counts (evalkit/prompts/context.py) is what the model gets: the text's
    tokens and each image's expanded tokens (Idefics3 splits images by size; LLaVA 576-style fixed)."""
    adapter = adapters[family]
    template = get_task("vqav2").templates[prompt_format]
    prompt = build_prompt(template, [Demo(examples[0], "red"), Demo(examples[2], "two")], examples[1])
    assert adapter.prompt_length(prompt) == adapter._encode_prompts([prompt])["input_ids"].shape[1]
    assert adapter.context_length == adapter.model.config.text_config.max_position_embeddings


@pytest.mark.parametrize("family, model", [("idefics3", "idefics3_model"), ("llava", "llava_model")])
def test_cached_vision_features_give_the_pixel_paths_logits_answers_and_scores(family, model, request, examples,
                                                                                images):
    """Each distinct image encoded once (alone, then kept) and its features written over its image
    tokens' embeddings: the forward, greedy answers and choice scores of the model's own pixel path."""
    import torch

    folder = str(request.getfixturevalue(model))
    cached, plain = load_adapter(folder, device="cpu"), load_adapter(folder, device="cpu", vision_cache_mb=0)
    assert cached.token_features is not None and plain.token_features is None
    pictured = [replace(example, image=image) for example, image in zip(examples, images)]  # 3 distinct images
    template, prompt = one_shot(pictured, "chat-template")
    prompts = [prompt, build_prompt(template, [Demo(pictured[2], "two")], pictured[1])]  # pictured[1] twice
    inputs = cached.model_inputs(prompts)
    assert "inputs_embeds" in inputs and "pixel_values" not in inputs
    with torch.inference_mode():
        ours = cached.model(**inputs).logits
        theirs = plain.model(**plain.model_inputs(prompts)).logits
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    stats = cached.describe()["vision_cache"]
    assert (stats["misses"], stats["hits"]) == (3, 1)  # 4 image slots, 3 distinct images
    settings = GenerationSettings(max_new_tokens=5)
    assert cached.generate(prompts, settings, ()) == plain.generate(prompts, settings, ())
    continuations = [render_continuation(template, answer) for answer in ("yes", "red square")]
    assert [s.total for s in cached.score_continuations(prompt, continuations)] == pytest.approx(
        [s.total for s in plain.score_continuations(prompt, continuations)], abs=1e-4)
    assert cached.describe()["vision_cache"]["misses"] == 3  # generation and scoring encoded nothing new


def test_system_prompt_is_the_chat_templates_system_turn(adapters, examples):
    _, prompt = one_shot(examples, "chat-template")
    adapter = adapters["idefics3"]
    plain, _ = adapter.render(prompt)
    adapter.system_prompt = "Be brief."
    try:
        text, _ = adapter.render(prompt)
    finally:
        adapter.system_prompt = None
    assert plain.startswith("<s>User:")
    assert text == "<s>System:Be brief.<end_of_utterance>\n" + plain[len("<s>"):]


def test_system_prompt_outside_the_chat_format_is_refused(tmp_path):
    from evalkit.run.config import RunConfig

    config = RunConfig(model="m", tasks=["vqav2"], shots=[0], seeds=[1], output=tmp_path, prompt_format="idefics",
                       system_prompt="Be brief.")
    with pytest.raises(EvalkitError, match=r"\[--system-prompt\]|system message"):
        config.validate()
