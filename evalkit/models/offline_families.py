"""Small random-weight models of other image-text families, built without any download.

Each builder makes the family's real architecture from a small config, a BPE tokenizer trained here
(`train_tokenizer`, with the family's special tokens), the family's image processor and processor,
and a chat template of the family's shape, then `save_pretrained`s them; `AutoProcessor` and
`AutoModelForImageTextToText` load the folder like a hub checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch

from evalkit.errors import EvalkitError
from evalkit.models.offline import train_tokenizer

# User/Assistant turns closed by <end_of_utterance>, as Idefics2/Idefics3/SmolVLM write them.
IDEFICS3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['role'] == 'assistant' %} {% endif %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image>{% else %}{{ item['text'] }}"
    "{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)
# LLaVA-1.5's "USER: <image>\nq ASSISTANT: a</s>" conversation.
LLAVA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['role'] | upper }}: "
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image>\n{% else %}{{ item['text'] }}"
    "{% endif %}{% endfor %}{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %} {% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


@dataclass(frozen=True)
class FamilySize:
    """Dimensions shared by the offline families: a few seconds per run on 2 CPU cores."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    vision_hidden_size: int = 32
    vision_layers: int = 2
    image_size: int = 32
    patch_size: int = 8
    vocab_size: int = 640


def _text_config(tokenizer, size: FamilySize) -> dict:
    return {
        "model_type": "llama", "vocab_size": len(tokenizer), "hidden_size": size.hidden_size,
        "intermediate_size": size.intermediate_size, "num_hidden_layers": size.num_hidden_layers,
        "num_attention_heads": size.num_attention_heads, "num_key_value_heads": size.num_attention_heads,
        "max_position_embeddings": 4096, "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
    }


def _vision_config(size: FamilySize) -> dict:
    return {"hidden_size": size.vision_hidden_size, "intermediate_size": 2 * size.vision_hidden_size,
            "num_hidden_layers": size.vision_layers, "num_attention_heads": 2,
            "image_size": size.image_size, "patch_size": size.patch_size}


def build_idefics3(corpus: list[str], size: FamilySize):
    """Idefics3 (the SmolVLM architecture): SigLIP-style encoder, pixel shuffle, Llama decoder; each
    image is one global tile of `(image_size / patch_size)^2 / 4` tokens (no splitting)."""
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessorPil,
                              Idefics3Processor)

    tokenizer = train_tokenizer(corpus, size.vocab_size, special_tokens=[
        "<end_of_utterance>", "<fake_token_around_image>", "<image>", "<global-img>"])
    image_seq_len = (size.image_size // size.patch_size) ** 2 // 4
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False, size={"longest_edge": size.image_size},
        max_image_size={"longest_edge": size.image_size})
    processor = Idefics3Processor(image_processor, tokenizer, image_seq_len=image_seq_len,
                                  chat_template=IDEFICS3_CHAT_TEMPLATE)
    config = Idefics3Config(
        text_config=_text_config(tokenizer, size), vision_config=_vision_config(size), scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), pad_token_id=tokenizer.pad_token_id,
    )
    return Idefics3ForConditionalGeneration(config), processor


def build_llava(corpus: list[str], size: FamilySize):
    """LLaVA-1.5: CLIP vision tower (penultimate layer, CLS dropped), MLP projector, Llama decoder;
    each image is `(image_size / patch_size)^2` tokens."""
    from transformers import CLIPImageProcessorPil, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tokenizer = train_tokenizer(corpus, size.vocab_size, special_tokens=["<image>"])
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": size.image_size},
                                            crop_size={"height": size.image_size, "width": size.image_size})
    processor = LlavaProcessor(image_processor, tokenizer, patch_size=size.patch_size,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_CHAT_TEMPLATE)
    config = LlavaConfig(
        text_config=_text_config(tokenizer, size), vision_config={**_vision_config(size), "model_type": "clip_vision_model"},
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=(size.image_size // size.patch_size) ** 2, pad_token_id=tokenizer.pad_token_id,
    )
    return LlavaForConditionalGeneration(config), processor


FAMILY_BUILDERS: dict[str, Callable] = {"idefics3": build_idefics3, "llava": build_llava}


def build_tiny_family(family: str, output_dir: Path, corpus: Iterable[str], seed: int = 0,
                      size: FamilySize = FamilySize()) -> Path:
    """Train the tokenizer, initialise the model from `seed`, and `save_pretrained` both."""
    if family not in FAMILY_BUILDERS:
        raise EvalkitError(f"no offline builder for family {family!r} (known: idefics, {', '.join(FAMILY_BUILDERS)})",
                           field="--family")
    torch.manual_seed(seed)
    model, processor = FAMILY_BUILDERS[family](list(corpus), size)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    (output_dir / "evalkit_build.json").write_text(
        json.dumps({"family": family, "seed": seed, "size": asdict(size)}, indent=2) + "\n")
    return output_dir
