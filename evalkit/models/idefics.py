"""IDEFICS (v1) through transformers: `IdeficsForVisionText2Text` + `IdeficsProcessor`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from evalkit.errors import EvalkitError
from evalkit.models.base import Capabilities, ContinuationScore
from evalkit.models.chat import has_turns
from evalkit.models.continuations import chunk_scores, continuation_ids, padded_chunk, repeated_cache, sequence_score
from evalkit.models.loading import (
    check_checkpoint_location,
    load_or_explain,
    model_revision,
    resolve_device,
    resolve_dtype,
)
from evalkit.taskspec import GenerationSettings
from evalkit.types import Prompt

IMAGE_TOKEN = "<image>"
FAKE_IMAGE_TOKEN = "<fake_token_around_image>"
END_OF_UTTERANCE = "<end_of_utterance>"


def _token_id(tokenizer: Any, token: str) -> int | None:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if token_id is None or token_id == tokenizer.unk_token_id:
        return None
    return token_id


class IdeficsAdapter:
    """Batched generation for IDEFICS checkpoints (base and instruct)."""

    capabilities = Capabilities(generation=True, scoring=True, max_images=None)

    def __init__(self, model: Any, processor: Any, name: str, dtype: torch.dtype, device: torch.device):
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"
        self.name = name
        self.dtype = dtype
        self.device = device
        self.image_token_ids = [_token_id(self.tokenizer, t) for t in (IMAGE_TOKEN, FAKE_IMAGE_TOKEN)]
        if None in self.image_token_ids:
            raise EvalkitError(
                f"tokenizer lacks the image tokens {IMAGE_TOKEN} and {FAKE_IMAGE_TOKEN}", path=name
            )
        self.end_of_utterance_id = _token_id(self.tokenizer, END_OF_UTTERANCE)
        is_instruct = "instruct" in Path(name).name.lower()
        self.default_prompt_format = "idefics-instruct" if is_instruct else "idefics"

    @classmethod
    def from_pretrained(cls, model: str, dtype: str = "auto", device: str = "auto",
                        revision: str | None = None, trust_remote_code: bool = False) -> "IdeficsAdapter":
        from transformers import AutoProcessor, IdeficsForVisionText2Text

        check_checkpoint_location(model)
        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        options = {"revision": revision, "trust_remote_code": trust_remote_code}
        processor = load_or_explain("the processor", model, lambda: AutoProcessor.from_pretrained(model, **options))
        network = load_or_explain(
            "the model", model,
            lambda: IdeficsForVisionText2Text.from_pretrained(model, dtype=torch_dtype, **options),
        )
        network.to(torch_device).eval()
        return cls(network, processor, model, torch_dtype, torch_device)

    def describe(self) -> dict[str, Any]:
        return {
            "adapter": "idefics",
            "model": self.name,
            "revision": model_revision(self.model),
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "parameters": sum(p.numel() for p in self.model.parameters()),
        }

    def _encode(self, prompts: Sequence[Prompt]) -> dict[str, torch.Tensor]:
        if any(has_turns(prompt) for prompt in prompts):
            raise EvalkitError("IDEFICS has no chat template: use --prompt-format idefics-instruct instead of "
                               "chat-template", path=self.name)
        batch = [[seg if isinstance(seg, str) else seg.load() for seg in prompt] for prompt in prompts]
        inputs = self.processor(text=batch, return_tensors="pt", padding="longest",
                                add_end_of_utterance_token=False)
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings,
                 stop_strings: Sequence[str]) -> list[str]:
        inputs = self._encode(prompts)
        stop_ids = [self.tokenizer.eos_token_id]
        if self.end_of_utterance_id is not None:
            stop_ids.append(self.end_of_utterance_id)
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=settings.max_new_tokens,
                num_beams=settings.num_beams,
                length_penalty=settings.length_penalty,
                do_sample=False,
                bad_words_ids=[[token_id] for token_id in self.image_token_ids],
                eos_token_id=stop_ids,
                pad_token_id=self.tokenizer.pad_token_id,
                stop_strings=list(stop_strings) or None,
                tokenizer=self.tokenizer,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    def continuation_ids(self, prompt: Prompt, continuations: Sequence[str]) -> list[list[int]]:
        tail = prompt[-1].strip(" ") if prompt and isinstance(prompt[-1], str) else ""
        return continuation_ids(self.tokenizer, tail, continuations)

    def score_continuations(self, prompt: Prompt, continuations: Sequence[str],
                            chunk_size: int = 256) -> list[ContinuationScore]:
        """Log-probabilities of each continuation after `prompt`: the prompt (text and images) is
        encoded once; its keys/values serve every candidate, `chunk_size` candidates per forward."""
        inputs = self._encode([prompt])
        with torch.inference_mode():
            encoded = self.model(**inputs, use_cache=True)
            first = torch.log_softmax(encoded.logits[0, -1].float(), dim=-1)
            candidates = self.continuation_ids(prompt, continuations)
            scores: list[ContinuationScore] = []
            for start in range(0, len(candidates), chunk_size):
                chunk = candidates[start:start + chunk_size]
                scores.extend(self._score_chunk(encoded, inputs, first, chunk))
        return scores

    def _score_chunk(self, encoded: Any, inputs: dict, first: torch.Tensor,
                     chunk: list[list[int]]) -> list[ContinuationScore]:
        size, length = len(chunk), max(len(tokens) for tokens in chunk)
        prompt_length = inputs["input_ids"].shape[1]
        ids, real = padded_chunk(chunk, self.tokenizer.pad_token_id, self.device)
        cache = repeated_cache(encoded.past_key_values, size)
        # Text after the prompt cross-attends only to the images the prompt's last token attends to
        # (IDEFICS: the most recent one); the others are masked out, so they are left out here and
        # their keys/values are never projected for each candidate.
        last_row = inputs["image_attention_mask"][:, -1:]
        attended = last_row[0, 0].nonzero().flatten()
        if attended.numel() == 0:  # a prompt with no image before its end: every image is masked anyway
            attended = torch.zeros(1, dtype=torch.long, device=self.device)
        images = encoded.image_hidden_states[:, attended].expand(size, -1, -1, -1).contiguous()
        image_key = "perceiver_embeddings" if self.model.config.use_resampler else "image_encoder_embeddings"
        output = self.model(
            input_ids=ids,
            attention_mask=torch.cat([inputs["attention_mask"].expand(size, -1), real], dim=1),
            position_ids=(prompt_length + torch.arange(length, device=self.device)).expand(size, -1),
            past_key_values=cache,
            image_attention_mask=last_row[:, :, attended].expand(size, length, -1),
            use_cache=True,
            **{image_key: images},
        )
        return chunk_scores(first, torch.log_softmax(output.logits.float(), dim=-1), chunk)

    def score_full_sequences(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """The slow reference: one whole (prompt + continuation) sequence per candidate."""
        candidates = self.continuation_ids(prompt, continuations)
        results = []
        with torch.inference_mode():
            for continuation, tokens in zip(continuations, candidates):
                full = [*prompt[:-1], (prompt[-1] if isinstance(prompt[-1], str) else "") + continuation]
                inputs = self._encode([full if isinstance(prompt[-1], str) else [*prompt, continuation]])
                logprobs = torch.log_softmax(self.model(**inputs).logits[0].float(), dim=-1)
                results.append(sequence_score(logprobs, tokens))
        return results
