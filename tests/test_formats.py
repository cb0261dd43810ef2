"""The openflamingo and chat-template formats: exact strings from protocols.md, the chat turns as
messages, the adapter chosen from a checkpoint's model_type, and `evalkit models`."""

import json
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.models.chat import to_messages
from evalkit.models.select import adapter_for, model_type_of
from evalkit.prompts.builder import Demo, build_prompt, prompt_text, render_continuation
from evalkit.registry import all_tasks, get_task
from evalkit.types import Example, FileImage


def example(qid: int, **fields: str) -> Example:
    return Example(qid, FileImage(Path(f"/img/{qid}.jpg")), fields, ["x"])


def test_openflamingo_vqa_prompt():
    template = get_task("vqav2").templates["openflamingo"]
    demos = [Demo(example(1, question="How many dogs?"), "2"), Demo(example(2, question="Is it raining?"), "no")]
    prompt = build_prompt(template, demos, example(9, question="What color is the bus?"))
    assert prompt_text(prompt) == ("<image>Question:How many dogs? Short answer:2<|endofchunk|>"
                                   "<image>Question:Is it raining? Short answer:no<|endofchunk|>"
                                   "<image>Question:What color is the bus? Short answer:")
    zero_shot = build_prompt(template, [Demo(d.example, d.answer, show_image=False) for d in demos],
                             example(9, question="What color is the bus?"))
    assert prompt_text(zero_shot).startswith("Question:How many dogs? Short answer:2<|endofchunk|>Question:")


def test_openflamingo_caption_and_classification_forms():
    caption = get_task("coco").templates["openflamingo"]
    assert prompt_text(build_prompt(caption, [Demo(example(1), "A dog.")], example(2))) == (
        "<image>Output:A dog.<|endofchunk|><image>Output:")
    memes = get_task("hatefulmemes").templates["openflamingo"]
    query = build_prompt(memes, [], example(3, text="love you"))
    assert prompt_text(query) == "<image>is an image with: 'love you' written on it. Is it hateful? Answer:"
    assert render_continuation(memes, "yes") == "yes<|endofchunk|>"
    imagenet = get_task("imagenet").templates["openflamingo"]
    assert prompt_text(build_prompt(imagenet, [], example(4))) == "<image>Output:"
    assert render_continuation(imagenet, "goldfish") == "goldfish<|endofchunk|>"


def test_every_task_offers_the_chat_template_format():
    assert all("chat-template" in task.templates for task in all_tasks().values())
    assert {name for name, task in all_tasks().items() if "openflamingo" in task.templates} >= {
        "vqav2", "okvqa", "textvqa", "vizwiz", "coco", "flickr30k", "nocaps", "textcaps", "hatefulmemes", "imagenet"}


def test_chat_turns_become_messages():
    template = get_task("vizwiz").templates["chat-template"]
    demo = Demo(example(1, question="What is this?"), "a can")
    text_only = Demo(example(2, question="Which color?"), "red", show_image=False)
    prompt = build_prompt(template, [demo, text_only], example(3, question="Is it open?"))
    messages, open_text, images = to_messages(prompt)
    ask = "\nAnswer with a single word or phrase."
    instruction = "Task: Answer the questions based on the image when possible, otherwise say unanswerable.\n"
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": instruction}, {"type": "image"},
                                     {"type": "text", "text": "What is this?" + ask}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a can"}]},
        {"role": "user", "content": [{"type": "text", "text": "Which color?" + ask}]},
        {"role": "assistant", "content": [{"type": "text", "text": "red"}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Is it open?" + ask}]},
    ]
    assert open_text == "" and [image.path.name for image in images] == ["1.jpg", "3.jpg"]
    closed = to_messages([*prompt[:-1], prompt[-1] + "yes<|evalkit:end|>"])
    assert closed[1] is None and closed[0][-1] == {"role": "assistant", "content": [{"type": "text", "text": "yes"}]}


@pytest.mark.parametrize("model_type, adapter", [("idefics", "idefics"), ("idefics3", "image-text"),
                                                 ("llava", "image-text"), ("qwen2_vl", "image-text"),
                                                 ("smolvlm", "image-text"), ("idefics2", "image-text")])
def test_adapter_follows_the_checkpoints_model_type(model_type, adapter):
    assert adapter_for(model_type).name == adapter


def test_unknown_model_type_or_config_is_one_line(tmp_path):
    with pytest.raises(EvalkitError, match="no adapter for model_type 'bert'"):
        adapter_for("bert")
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["X"]}))
    with pytest.raises(EvalkitError, match=r"config.json \[model_type\]: no model_type"):
        model_type_of(str(tmp_path))


def test_models_command_lists_both_adapters(capsys):
    assert main(["models"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("idefics: ") and "\nimage-text: " in printed
    assert printed.count("generation: yes, scoring: yes, max images per prompt:") == 2
    assert "chat-template" in printed and "openflamingo" in printed


def test_build_model_offers_every_offline_family(capsys):
    from evalkit.models.offline_families import FAMILY_BUILDERS

    with pytest.raises(SystemExit):
        main(["build-model", "--family", "none", "--output", "x"])
    choices = capsys.readouterr().err.split("choose from", 1)[1]
    assert all(f"'{family}'" in choices for family in ["idefics", *FAMILY_BUILDERS])
