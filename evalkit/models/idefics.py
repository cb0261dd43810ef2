"""IDEFICS (v1) through transformers: `IdeficsForVisionText2Text` + `IdeficsProcessor`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Collection, Sequence

import torch

from evalkit.errors import EvalkitError
from evalkit.models.base import Capabilities, ContinuationScore
from evalkit.models.cross_attention import reuse_image_projections
from evalkit.models.idefics_inputs import FAKE_IMAGE_TOKEN, IMAGE_TOKEN, IdeficsInputs, PreparedBatch
from evalkit.models.chat import has_turns
from evalkit.models.continuations import (chunk_scores, continuation_ids, padded_chunk, prompt_log_probability,
                                          repeated_cache, sequence_score)
from evalkit.models.generation import generate_texts
from evalkit.models.loading import load_model_and_processor, model_revision
from evalkit.models.vision_cache import VisionFeatureCache
from evalkit.taskspec import GenerationSettings
from evalkit.types import Prompt

DEFAULT_VISION_CACHE_MB = 2048
END_OF_UTTERANCE = "<end_of_utterance>"


def _token_id(tokenizer: Any, token: str) -> int | None:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if token_id is None or token_id == tokenizer.unk_token_id:
        return None
    return token_id


class IdeficsAdapter:
    """Batched generation and continuation scoring for IDEFICS checkpoints (base and instruct).

    Image features go through a `VisionFeatureCache`: each distinct image is encoded once while it
    stays in the cache, and the model gets `image_encoder_embeddings` (or `perceiver_embeddings`)
    instead of pixels. With the cache off (`vision_cache_mb=0`) the model encodes pixels itself, as
    the reference harnesses do.
    """

    capabilities = Capabilities(generation=True, scoring=True, max_images=None)
    choices_per_forward = 256  # candidates scored in one forward after a prompt's cache
    vision_chunk = 64  # images per vision-encoder forward when filling the cache

    def __init__(self, model: Any, processor: Any, name: str, dtype: torch.dtype, device: torch.device,
                 vision_cache_mb: float = DEFAULT_VISION_CACHE_MB):
        self.model = model
        self.processor = processor
        self.inputs = IdeficsInputs(processor)
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"
        self.name = name
        self.dtype = dtype
        self.device = device
        self.vision_cache = VisionFeatureCache(int(vision_cache_mb * 2**20))
        self.image_projections = reuse_image_projections(model)
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
                        revision: str | None = None, trust_remote_code: bool = False,
                        attention: str = "auto", device_map: str | None = None,
                        vision_cache_mb: float = DEFAULT_VISION_CACHE_MB) -> "IdeficsAdapter":
        """`device_map="auto"` shards a model too big for one GPU across the node's GPUs
        (accelerate); otherwise the model sits whole on `device`."""
        from transformers import IdeficsForVisionText2Text

        network, processor, torch_dtype, torch_device = load_model_and_processor(
            IdeficsForVisionText2Text, model, dtype, device, revision, trust_remote_code, attention, device_map)
        return cls(network, processor, model, torch_dtype, torch_device, vision_cache_mb)

    def describe(self) -> dict[str, Any]:
        return {
            "adapter": "idefics",
            "model": self.name,
            "revision": model_revision(self.model),
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "device_map": getattr(self.model, "hf_device_map", None),
            "attention": getattr(self.model.config, "_attn_implementation", None),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "vision_cache": self.vision_cache.stats(),
        }

    def prepare(self, prompts: Sequence[Prompt], skip: Collection[str] = ()) -> PreparedBatch:
        """CPU-side inputs (safe in a DataLoader worker): pixels only for images not in `skip`."""
        if any(has_turns(prompt) for prompt in prompts):
            raise EvalkitError("IDEFICS has no chat template: use --prompt-format idefics-instruct instead of "
                               "chat-template", path=self.name)
        return self.inputs.prepare(prompts, skip)

    def cached_image_keys(self) -> set[str] | None:
        """Images whose features are stored; None when features are not reused (every prompt's
        images must then come with their pixels)."""
        return self.vision_cache.keys() if self.vision_cache.enabled else None

    def _prepare_here(self, prompts: Sequence[Prompt]) -> PreparedBatch:
        """`prepare` in this process, without the pixels of images whose features are cached."""
        return self.prepare(prompts, self.cached_image_keys() or ())

    def _encode(self, prompts: Sequence[Prompt]) -> dict[str, torch.Tensor]:
        return self.model_inputs(self._prepare_here(prompts))

    @property
    def _features_keyword(self) -> str:
        """The forward's keyword for precomputed image features: after the perceiver when there is one."""
        return "perceiver_embeddings" if self.model.config.use_resampler else "image_encoder_embeddings"

    def model_inputs(self, batch: PreparedBatch) -> dict[str, torch.Tensor]:
        """The model's keyword arguments: token ids, masks and either image features or pixels."""
        inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
                  "image_attention_mask": batch.image_attention_mask}
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        if not self.vision_cache.enabled:
            inputs["pixel_values"] = batch.pixel_values(self.inputs.default_image_dims).to(self.device, self.dtype)
            return inputs
        inputs[self._features_keyword] = self._image_features(batch)
        return inputs

    def _image_features(self, batch: PreparedBatch) -> torch.Tensor:
        """[batch, max_images, tokens, dim] features from the cache, zeros where a prompt has fewer
        images (those slots are masked out of cross-attention)."""
        by_key = {image.key: image for row in batch.images for image in row}

        def encode(keys: list[str]) -> list[torch.Tensor]:
            late = [by_key[key] for key in keys if key not in batch.pixels]
            pixels = {**batch.pixels, **self.inputs.pixels(late)}
            return self.encode_images(torch.stack([pixels[key] for key in keys]))

        features = self.vision_cache.features([key for row in batch.images for key in
                                               (image.key for image in row)], encode)
        if not features:
            blank = self.encode_images(torch.zeros(1, *self.inputs.default_image_dims))[0]
            return blank.expand(len(batch.images), 1, -1, -1)
        sample = next(iter(features.values()))
        out = torch.zeros(len(batch.images), batch.max_images, *sample.shape, dtype=sample.dtype, device=sample.device)
        for row, images in enumerate(batch.images):
            for column, image in enumerate(images):
                out[row, column] = features[image.key]
        return out

    def encode_images(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        """Vision encoder (and perceiver resampler when the model uses one), `vision_chunk` at a time."""
        core = self.model.model
        features: list[torch.Tensor] = []
        with torch.inference_mode():
            for start in range(0, len(pixel_values), self.vision_chunk):
                chunk = pixel_values[start:start + self.vision_chunk].to(self.device, self.dtype)
                hidden = core.vision_model(pixel_values=chunk).last_hidden_state
                if self.model.config.use_resampler:
                    hidden = core.perceiver_resampler(hidden)
                features.extend(hidden)
        return features

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings,
                 stop_strings: Sequence[str]) -> list[str]:
        return self.generate_prepared(self._prepare_here(prompts), settings, stop_strings)

    def generate_prepared(self, batch: PreparedBatch, settings: GenerationSettings,
                          stop_strings: Sequence[str]) -> list[str]:
        inputs = self.model_inputs(batch)
        stop_ids = [self.tokenizer.eos_token_id]
        if self.end_of_utterance_id is not None:
            stop_ids.append(self.end_of_utterance_id)
        try:
            return generate_texts(self.model, self.tokenizer, inputs, settings, stop_strings, self.image_token_ids,
                                  stop_ids)
        finally:  # also after out-of-memory: the retry must not find the old image states held
            self._forget_image_states()

    def continuation_ids(self, prompt: Prompt, continuations: Sequence[str]) -> list[list[int]]:
        tail = prompt[-1].strip(" ") if prompt and isinstance(prompt[-1], str) else ""
        return continuation_ids(self.tokenizer, tail, continuations)

    def score_continuations(self, prompt: Prompt, continuations: Sequence[str],
                            chunk_size: int | None = None) -> list[ContinuationScore]:
        """Log-probabilities of each continuation after `prompt`: the prompt (text and images) is
        encoded once; its keys/values serve every candidate, `chunk_size` candidates per forward."""
        return self.score_prepared(self._prepare_here([prompt]), prompt, continuations, chunk_size)

    def score_prepared(self, batch: PreparedBatch, prompt: Prompt, continuations: Sequence[str],
                       chunk_size: int | None = None) -> list[ContinuationScore]:
        """`score_continuations` with the prompt's inputs already prepared (a batch of that one prompt)."""
        inputs = self.model_inputs(batch)
        chunk_size = chunk_size or self.choices_per_forward
        try:
            with torch.inference_mode():
                encoded = self.model(**inputs, use_cache=True)
                first = torch.log_softmax(encoded.logits[0, -1].float(), dim=-1)
                candidates = self.continuation_ids(prompt, continuations)
                scores: list[ContinuationScore] = []
                for start in range(0, len(candidates), chunk_size):
                    chunk = candidates[start:start + chunk_size]
                    scores.extend(self._score_chunk(encoded, inputs, first, chunk))
                prompt_total, prompt_tokens = prompt_log_probability(encoded.logits[0], inputs["input_ids"][0])
        finally:
            self._forget_image_states()
        return [replace(score, prompt_total=prompt_total, prompt_tokens=prompt_tokens) for score in scores]

    def _forget_image_states(self) -> None:
        """Let the key/value projections release the last batch's image states."""
        for projection in self.image_projections:
            projection.forget()

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
        output = self.model(
            input_ids=ids,
            attention_mask=torch.cat([inputs["attention_mask"].expand(size, -1), real], dim=1),
            position_ids=(prompt_length + torch.arange(length, device=self.device)).expand(size, -1),
            past_key_values=cache,
            image_attention_mask=last_row[:, :, attended].expand(size, length, -1),
            use_cache=True,
            **{self._features_keyword: images},
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
