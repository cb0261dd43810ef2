"""Exact prompt strings, written out by hand from the m4 templates in protocols.md."""

from pathlib import Path

import pytest

from evalkit.prompts.builder import Demo, build_prompt, prompt_images, prompt_text
from evalkit.prompts.formats import vqa_templates
from evalkit.types import Example, FileImage

BASE = vqa_templates()["idefics"]
INSTRUCT = vqa_templates()["idefics-instruct"]
INSTRUCTION = "Instruction: provide an answer to the question. Use the image to answer.\n"


def example(qid: int, question: str) -> Example:
    return Example(qid, FileImage(Path(f"/img/{qid}.jpg")), {"question": question}, ["x"] * 10)


QUERY = example(9, "What color is the bus?")
DEMOS = [Demo(example(1, "How many dogs?"), "2"), Demo(example(2, "Is it raining?"), "no"),
         Demo(example(3, "What sport is this?"), "tennis"), Demo(example(4, "Where is the cat?"), "on the bed")]


def test_base_zero_shot_flamingo_style_has_two_text_only_demos():
    demos = [Demo(d.example, d.answer, show_image=False) for d in DEMOS[:2]]
    prompt = build_prompt(BASE, demos, QUERY)
    assert prompt_text(prompt) == (
        INSTRUCTION
        + "Question: How many dogs? Answer: 2\n"
        + "Question: Is it raining? Answer: no\n"
        + "Image:<image>Question: What color is the bus? Answer:"
    )
    assert [image.path.name for image in prompt_images(prompt)] == ["9.jpg"]


def test_base_true_zero_shot():
    assert prompt_text(build_prompt(BASE, [], QUERY)) == (
        INSTRUCTION + "Image:<image>Question: What color is the bus? Answer:"
    )


def test_base_two_shots():
    prompt = build_prompt(BASE, DEMOS[:2], QUERY)
    assert prompt_text(prompt) == (
        INSTRUCTION
        + "Image:<image>Question: How many dogs? Answer: 2\n"
        + "Image:<image>Question: Is it raining? Answer: no\n"
        + "Image:<image>Question: What color is the bus? Answer:"
    )
    assert [image.path.name for image in prompt_images(prompt)] == ["1.jpg", "2.jpg", "9.jpg"]
    # Text and images alternate: adjacent texts are merged into one piece.
    assert [isinstance(segment, str) for segment in prompt] == [True, False, True, False, True, False, True]


def test_base_four_shots():
    assert prompt_text(build_prompt(BASE, DEMOS, QUERY)) == (
        INSTRUCTION
        + "Image:<image>Question: How many dogs? Answer: 2\n"
        + "Image:<image>Question: Is it raining? Answer: no\n"
        + "Image:<image>Question: What sport is this? Answer: tennis\n"
        + "Image:<image>Question: Where is the cat? Answer: on the bed\n"
        + "Image:<image>Question: What color is the bus? Answer:"
    )


def test_instruct_zero_two_and_four_shots():
    text_only = [Demo(d.example, d.answer, show_image=False) for d in DEMOS[:2]]
    assert prompt_text(build_prompt(INSTRUCT, text_only, QUERY)) == (
        "User:How many dogs?<end_of_utterance>\nAssistant: 2<end_of_utterance>\n"
        "User:Is it raining?<end_of_utterance>\nAssistant: no<end_of_utterance>\n"
        "User:<image>What color is the bus?<end_of_utterance>\nAssistant:"
    )
    assert prompt_text(build_prompt(INSTRUCT, DEMOS[:2], QUERY)) == (
        "User:<image>How many dogs?<end_of_utterance>\nAssistant: 2<end_of_utterance>\n"
        "User:<image>Is it raining?<end_of_utterance>\nAssistant: no<end_of_utterance>\n"
        "User:<image>What color is the bus?<end_of_utterance>\nAssistant:"
    )
    four = prompt_text(build_prompt(INSTRUCT, DEMOS, QUERY))
    assert four.count("User:<image>") == 5
    assert four.endswith("User:<image>Where is the cat?<end_of_utterance>\nAssistant: on the bed<end_of_utterance>\n"
                         "User:<image>What color is the bus?<end_of_utterance>\nAssistant:")


def test_the_processor_sees_the_idefics_image_tokens(tiny_model, tmp_path):
    """What the model receives: BOS, and each image as <fake><image><fake>, nothing else added."""
    from PIL import Image
    from transformers import AutoProcessor

    for qid in (1, 2, 9):
        Image.new("RGB", (40, 30), "red").save(tmp_path / f"{qid}.jpg")
    local = [Demo(Example(d.example.id, FileImage(tmp_path / f"{d.example.id}.jpg"), d.example.fields, ["x"]), d.answer)
             for d in DEMOS[:2]]
    query = Example(9, FileImage(tmp_path / "9.jpg"), QUERY.fields, ["x"])
    prompt = build_prompt(BASE, local, query)
    processor = AutoProcessor.from_pretrained(tiny_model)
    batch = processor(text=[[s if isinstance(s, str) else s.load() for s in prompt]], return_tensors="pt",
                      add_end_of_utterance_token=False)
    decoded = processor.tokenizer.decode(batch["input_ids"][0])
    image = "<fake_token_around_image><image><fake_token_around_image>"
    assert decoded == (
        "<s>" + INSTRUCTION
        + f"Image:{image}Question: How many dogs? Answer: 2\n"
        + f"Image:{image}Question: Is it raining? Answer: no\n"
        + f"Image:{image}Question: What color is the bus? Answer:"
    )
    assert batch["pixel_values"].shape[:2] == (1, 3)


@pytest.mark.parametrize("generation, answer", [
    (" red\nImage:", "red"), (" 2 Question: how", "2"), (" yes, it is", "yes"),
    (" on the bed<end_of_utterance>", "on the bed"), (" Short answer: blue", ""),
])
def test_vqa_answer_extraction(generation, answer):
    from evalkit.postprocess import vqa_answer

    assert vqa_answer(generation, BASE.stop_strings) == answer
