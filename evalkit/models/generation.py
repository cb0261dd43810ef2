"""Greedy or beam generation as every adapter runs it, and the decoding of the new tokens."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from evalkit.taskspec import GenerationSettings


def generate_texts(model: Any, tokenizer: Any, inputs: dict[str, torch.Tensor], settings: GenerationSettings,
                   stop_strings: Sequence[str], banned_ids: Sequence[int], stop_ids: Sequence[int]) -> list[str]:
    """The text each prompt continues with: no sampling, `banned_ids` never generated (image tokens),
    stopping at any of `stop_ids` or `stop_strings`."""
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=settings.max_new_tokens,
            num_beams=settings.num_beams,
            length_penalty=settings.length_penalty,
            do_sample=False,
            bad_words_ids=[[token_id] for token_id in banned_ids] or None,
            eos_token_id=list(stop_ids),
            pad_token_id=tokenizer.pad_token_id,
            stop_strings=list(stop_strings) or None,
            tokenizer=tokenizer,
        )
    return tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
