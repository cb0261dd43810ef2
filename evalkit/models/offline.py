"""A small random-weight IDEFICS with the real architecture, built without any download.

The tokenizer is a BPE model trained here on the harness's own prompt vocabulary, wrapped as a
Llama tokenizer (as IDEFICS uses) with IDEFICS's special tokens; the two image tokens are the last
two ids and live in IDEFICS's "additional" embedding rows, as in the released checkpoints.
"""

from __future__ import annotations

import json
import string
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

SPECIAL_TOKENS = ["<end_of_utterance>", "<fake_token_around_image>", "<image>"]


@dataclass(frozen=True)
class TinySize:
    """Dimensions of the offline model: small enough to train and run on 2 CPU cores."""

    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    vision_embed_dim: int = 64
    vision_layers: int = 2
    vision_heads: int = 4
    image_size: int = 32
    patch_size: int = 8
    perceiver_latents: int = 8
    vocab_size: int = 512
    # Released IDEFICS starts its cross-attention gates at zero on top of pretrained parts; a model
    # trained from scratch in minutes learns to look at images far sooner with open gates.
    alpha_initializer: str = "ones"
    # The perceiver resampler (use_resampler) is part of the architecture and on in the released
    # checkpoints; from random weights it first washes out the image signal, so the tiny model
    # cross-attends to the vision encoder's patch embeddings directly.
    use_resampler: bool = False
    perceiver_depth: int = 1
    perceiver_heads: int = 2
    perceiver_head_dim: int = 32
    cross_layer_interval: int = 1  # a gated cross-attention block every this many layers (IDEFICS-9B: 4)
    vision_intermediate_size: int | None = None  # default: 2 x vision_embed_dim (ViT-H/14: 4 x)


# IDEFICS-9B's shapes (LLaMA-7B text model, ViT-H/14 vision encoder, perceiver with 64 latents, a
# gated cross-attention block every 4th layer) with random weights: for the GPU benchmarks.
IDEFICS_9B_SIZE = TinySize(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                           vision_embed_dim=1280, vision_layers=32, vision_heads=16, image_size=224, patch_size=14,
                           vision_intermediate_size=5120, perceiver_latents=64, perceiver_depth=6,
                           perceiver_heads=16, perceiver_head_dim=96, cross_layer_interval=4, vocab_size=512,
                           use_resampler=True)

# The mid-size random IDEFICS every CPU benchmark uses: IDEFICS-9B's layout (perceiver resampler,
# here 50 patch tokens -> 16 latents where the 9B has 257 -> 64; a gated cross-attention block every
# 4th layer; vision MLP 4x its width) and its balance of vision and language work. FLOPs of one
# 32-shot VQAv2 prompt (33 images, ~500 tokens), counted with torch's FlopCounterMode (the 9B shape
# extrapolated from depth-1 and depth-2 copies): IDEFICS-9B 20.8 TF, vision encoder 51.5%, perceiver
# 4.6%, language model with its cross-attention 43.9%; this model 0.07 TF, 49.1% / 7.9% / 43.0%.
MID_SIZE = TinySize(hidden_size=512, intermediate_size=1376, num_hidden_layers=8, num_attention_heads=8,
                    vision_embed_dim=384, vision_layers=6, vision_heads=6, image_size=112, patch_size=16,
                    vision_intermediate_size=1536, use_resampler=True, perceiver_latents=16,
                    perceiver_depth=2, perceiver_heads=8, perceiver_head_dim=48, cross_layer_interval=4)


def train_tokenizer(corpus: Iterable[str], vocab_size: int, special_tokens: Sequence[str] = tuple(SPECIAL_TOKENS)):
    """A Llama-style (metaspace BPE) fast tokenizer with IDEFICS's special tokens (or the given ones,
    added in order after the trained vocabulary)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    bpe.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    alphabet = sorted(set(string.printable) - set(" \r\x0b\x0c"))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=alphabet, show_progress=False)
    bpe.train_from_iterator(list(corpus), trainer)
    tokenizer = LlamaTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<unk>", add_bos_token=False, add_eos_token=False)
    tokenizer.add_special_tokens({"additional_special_tokens": list(special_tokens)})
    tokenizer.padding_side = "left"
    return tokenizer


def tiny_config(tokenizer, size: TinySize):
    from transformers import IdeficsConfig

    return IdeficsConfig(
        vocab_size=len(tokenizer) - 2,
        additional_vocab_size=2,
        hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size,
        num_hidden_layers=size.num_hidden_layers,
        num_attention_heads=size.num_attention_heads,
        cross_layer_interval=size.cross_layer_interval,
        alpha_initializer=size.alpha_initializer,
        max_position_embeddings=2048,
        use_resampler=size.use_resampler,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        vision_config={
            "embed_dim": size.vision_embed_dim,
            "image_size": size.image_size,
            "patch_size": size.patch_size,
            "intermediate_size": size.vision_intermediate_size or 2 * size.vision_embed_dim,
            "num_hidden_layers": size.vision_layers,
            "num_attention_heads": size.vision_heads,
        },
        perceiver_config={
            "use_resampler": size.use_resampler,
            "resampler_n_latents": size.perceiver_latents,
            "resampler_depth": size.perceiver_depth,
            "resampler_n_heads": size.perceiver_heads,
            "resampler_head_dim": size.perceiver_head_dim,
        },
    )


def random_idefics(corpus: Iterable[str], seed: int = 0, size: TinySize = TinySize(),
                   dtype: torch.dtype | None = None, device: str | torch.device | None = None) -> tuple[Any, Any]:
    """A random-weight IDEFICS (initialised from `seed`, in `dtype`, made directly on `device`: a
    9B-shaped model is initialised in seconds on a GPU, minutes on a CPU) and its processor."""
    from transformers import IdeficsForVisionText2Text, IdeficsImageProcessorPil, IdeficsProcessor

    tokenizer = train_tokenizer(corpus, size.vocab_size)
    image_processor = IdeficsImageProcessorPil(image_size=size.image_size)
    processor = IdeficsProcessor(image_processor, tokenizer, image_size=size.image_size)
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = IdeficsForVisionText2Text(tiny_config(tokenizer, size))
    if dtype is not None:
        model = model.to(dtype)
    return model.eval(), processor


def build_tiny_idefics(output_dir: Path, corpus: Iterable[str], seed: int = 0,
                       size: TinySize = TinySize(), dtype: torch.dtype | None = None) -> Path:
    """Train the tokenizer, initialise the model from `seed` (saved in `dtype`, default float32),
    and `save_pretrained` both."""
    model, processor = random_idefics(corpus, seed, size, dtype)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    (output_dir / "evalkit_build.json").write_text(
        json.dumps({"seed": seed, "size": asdict(size)}, indent=2) + "\n"
    )
    return output_dir


def build_tiny_clip(output_dir: Path, seed: int = 0, image_size: int = 32) -> Path:
    """A random-weight CLIP image encoder (real `CLIPVisionModelWithProjection` architecture) and its
    image processor, for RICES without downloads."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    config = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                              image_size=image_size, patch_size=8, projection_dim=32)
    CLIPVisionModelWithProjection(config).save_pretrained(output_dir)
    CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
                       ).save_pretrained(output_dir)
    return output_dir
