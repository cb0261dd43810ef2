"""Greedy or beam generation as every adapter runs it, and the decoding of the new tokens."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import torch
from transformers import StoppingCriteriaList, StopStringCriteria

from evalkit.taskspec import GenerationSettings

# (tokenizer id, stop strings) -> (tokenizer, criterion); the tokenizer is held so its id stays its own.
_STOP_STRING_CRITERIA: OrderedDict[tuple[int, tuple[str, ...]], tuple[Any, StopStringCriteria]] = OrderedDict()
_KEPT_CRITERIA = 8


def stop_string_criterion(tokenizer: Any, stop_strings: Sequence[str]) -> StopStringCriteria:
    """transformers' stop-string matcher, built once per tokenizer and stop strings.

    `generate(stop_strings=...)` rebuilds it at every call: it embeds the whole vocabulary against the
    stop strings, and its own cache is keyed on `tokenizer.get_vocab()` in iteration order, which fast
    tokenizers return in hash order, so the cache never hits. With a 32k vocabulary that is about
    0.3 s per batch (measured on this machine's CPU).
    """
    key = (id(tokenizer), tuple(stop_strings))
    if key not in _STOP_STRING_CRITERIA:
        _STOP_STRING_CRITERIA[key] = (tokenizer, StopStringCriteria(tokenizer, list(stop_strings)))
        while len(_STOP_STRING_CRITERIA) > _KEPT_CRITERIA:
            _STOP_STRING_CRITERIA.popitem(last=False)
    _STOP_STRING_CRITERIA.move_to_end(key)
    return _STOP_STRING_CRITERIA[key][1]


def generate_texts(model: Any, tokenizer: Any, inputs: dict[str, torch.Tensor], settings: GenerationSettings,
                   stop_strings: Sequence[str], banned_ids: Sequence[int], stop_ids: Sequence[int]) -> list[str]:
    """The text each prompt continues with: no sampling, `banned_ids` never generated (image tokens),
    stopping at any of `stop_ids` or `stop_strings`."""
    stopping = StoppingCriteriaList([stop_string_criterion(tokenizer, stop_strings)] if stop_strings else [])
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
            stopping_criteria=stopping,
        )
    # Given embeddings and no ids, generate returns only the new tokens.
    prompt_length = inputs["input_ids"].shape[1] if "input_ids" in inputs else 0
    return tokenizer.batch_decode(output[:, prompt_length:], skip_special_tokens=True)
