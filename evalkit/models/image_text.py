"""Any Hugging Face image-text-to-text model that takes several images in one prompt:
`AutoModelForImageTextToText` + `AutoProcessor` (Idefics2, Idefics3/SmolVLM, LLaVA, Qwen2-VL...).

A prompt is written either through the processor's chat template (the chat-template format: each
demo a user turn with its image and an assistant turn with its answer) or as plain interleaved text
(idefics, openflamingo formats: each image replaced by the family's image placeholder), for base
models. The processor expands each placeholder into the model's image tokens.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from evalkit.errors import EvalkitError
from evalkit.models import chat
from evalkit.models.base import Capabilities, ContinuationScore, context_length
from evalkit.models.continuations import chunk_scores, continuation_ids, padded_chunk, sequence_score
from evalkit.models.generation import generate_texts
from evalkit.models.image_features import REUSES_FEATURES, TokenFeatures
from evalkit.models.kv_cache import new_cache, repeated_cache, with_cache
from evalkit.models.loading import load_model_and_processor, model_revision
from evalkit.models.vision_cache import VisionFeatureCache
from evalkit.taskspec import GenerationSettings
from evalkit.types import ImageSource, Prompt, image_size

# How an image is written in plain text where the processor's image token alone is not enough.
PLAIN_IMAGE_TEXT = {
    "qwen2_vl": "<|vision_start|><|image_pad|><|vision_end|>",
    "qwen2_5_vl": "<|vision_start|><|image_pad|><|vision_end|>",
}
# Processor attributes naming tokens that belong to images (never generated).
IMAGE_TOKEN_ATTRIBUTES = ("image_token", "fake_image_token", "global_image_tag", "boi_token", "eoi_token")
DEFAULT_VISION_CACHE_MB = 2048


class ImageTextAdapter:
    """Batched generation and KV-cached continuation scoring through a processor. In the families
    whose image features are token embeddings (image_features.REUSES_FEATURES), each distinct image
    is encoded once while the vision cache keeps it (`vision_cache_mb=0`: every prompt's images
    encoded again, as the model does by itself)."""

    capabilities = Capabilities(generation=True, scoring=True, max_images=None)
    choices_per_forward = 64  # candidates scored in one forward after a prompt's cache

    def __init__(self, model: Any, processor: Any, name: str, dtype: torch.dtype, device: torch.device,
                 vision_cache_mb: float = DEFAULT_VISION_CACHE_MB):
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"
        self.name = name
        self.dtype = dtype
        self.device = device
        self.model_type = model.config.model_type
        image_token = getattr(processor, "image_token", None)
        if not isinstance(image_token, str):
            raise EvalkitError("the processor names no image token (processor.image_token)", path=name)
        self.image_token = image_token
        self.plain_image_text = PLAIN_IMAGE_TEXT.get(self.model_type, image_token)
        self.has_chat_template = bool(getattr(processor, "chat_template", None))
        self.default_prompt_format = "chat-template" if self.has_chat_template else "idefics"
        self.system_prompt: str | None = None  # --system-prompt: the chat template's system message
        self.banned_ids = self._image_token_ids()
        self.stop_ids = [i for i in {self.tokenizer.eos_token_id, *self._end_of_turn_ids()} if i is not None]
        self._expansions: dict[tuple[int, int], int] = {}  # image size -> tokens added (prompt_length)
        self.vision_cache = VisionFeatureCache(int(vision_cache_mb * 2**20))
        self.token_features = None
        if self.model_type in REUSES_FEATURES and self.vision_cache.enabled:
            self.token_features = TokenFeatures(model, processor.image_processor,
                                                self.tokenizer.convert_tokens_to_ids(image_token), self.vision_cache)

    @classmethod
    def from_pretrained(cls, model: str, dtype: str = "auto", device: str = "auto",
                        revision: str | None = None, trust_remote_code: bool = False, attention: str = "auto",
                        device_map: str | None = None,
                        vision_cache_mb: float = DEFAULT_VISION_CACHE_MB) -> "ImageTextAdapter":
        from transformers import AutoModelForImageTextToText

        network, processor, torch_dtype, torch_device = load_model_and_processor(
            AutoModelForImageTextToText, model, dtype, device, revision, trust_remote_code, attention, device_map)
        return cls(network, processor, model, torch_dtype, torch_device, vision_cache_mb)

    def describe(self) -> dict[str, Any]:
        return {
            "adapter": "image-text",
            "model": self.name,
            "model_type": self.model_type,
            "model_class": type(self.model).__name__,
            "processor": type(self.processor).__name__,
            "chat_template": self.has_chat_template,
            "revision": model_revision(self.model),
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "attention": getattr(self.model.config, "_attn_implementation", None),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "vision_cache": self.vision_cache.stats() if self.token_features else None,
        }

    # ---- context length (evalkit/prompts/context.py) ----

    @property
    def context_length(self) -> int | None:
        return context_length(self.model.config)

    def prompt_length(self, prompt: Prompt) -> int:
        """The rendered text's tokens plus what the processor expands each image into (a function of
        the image's size, measured once per size on a blank image of that size)."""
        text, images = self.render(prompt)
        tokens = len(self.tokenizer(text, add_special_tokens=not chat.has_turns(prompt))["input_ids"])
        return tokens + sum(self._image_expansion(image_size(image)) for image in images)

    def _image_expansion(self, size: tuple[int, int]) -> int:
        """Tokens the processor adds for one image of `size` beyond its image token."""
        if size not in self._expansions:
            from PIL import Image

            expanded = self.processor(text=[self.image_token], images=[[Image.new("RGB", size)]],
                                      return_tensors="pt", add_special_tokens=False)["input_ids"].shape[1]
            self._expansions[size] = expanded - len(self._token_ids(self.image_token))
        return self._expansions[size]

    def _token_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    def _image_token_ids(self) -> list[int]:
        names = [getattr(self.processor, attribute, None) for attribute in IMAGE_TOKEN_ATTRIBUTES]
        texts = [name for name in names if isinstance(name, str)] + [self.plain_image_text]
        return sorted({token for text in texts for token in self._token_ids(text)})

    def _end_of_turn_ids(self) -> list[int]:
        """The chat template's end of an assistant turn, when it is one token."""
        if not self.has_chat_template:
            return []
        ids = self._token_ids(chat.end_of_turn(self.processor))
        return ids if len(ids) == 1 else []

    def render(self, prompt: Prompt) -> tuple[str, list[ImageSource]]:
        """The prompt as the text the processor takes, and its images in order."""
        if chat.has_turns(prompt):
            return chat.render(self.processor, prompt, self.system_prompt)
        images = [segment for segment in prompt if not isinstance(segment, str)]
        text = "".join(segment if isinstance(segment, str) else self.plain_image_text for segment in prompt)
        return text, images

    def _encode(self, texts: list[str], images: list[list[ImageSource]], chat_format: bool) -> dict:
        # A chat template writes its own BOS; plain text gets the tokenizer's usual special tokens.
        loaded = [[image.load() for image in row] for row in images]
        inputs = self.processor(text=texts, images=loaded if any(loaded) else None, return_tensors="pt",
                                padding=True, add_special_tokens=not chat_format)
        return {key: (value.to(self.device, self.dtype) if value.is_floating_point() else value.to(self.device))
                for key, value in inputs.items()}

    def _encode_prompts(self, prompts: Sequence[Prompt]) -> dict:
        rendered = [self.render(prompt) for prompt in prompts]
        return self._encode([text for text, _ in rendered], [images for _, images in rendered],
                            chat.has_turns(prompts[0]))

    def model_inputs(self, prompts: Sequence[Prompt]) -> dict:
        """The forward's keyword arguments for `prompts`: the processor's, with the images' stored
        features as embeddings where the family allows (image_features.py)."""
        inputs = self._encode_prompts(prompts)
        if self.token_features is None:
            return inputs
        images = [image for prompt in prompts for image in self.render(prompt)[1]]
        return self.token_features.model_inputs(inputs, images)

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings,
                 stop_strings: Sequence[str]) -> list[str]:
        return generate_texts(self.model, self.tokenizer, self.model_inputs(prompts), settings, stop_strings,
                              self.banned_ids, self.stop_ids)

    def continuation_texts(self, prompt: Prompt, continuations: Sequence[str]) -> tuple[str, list[str]]:
        """The rendered prompt, and what each continuation adds to it: in the chat format, the rest of
        the assistant turn as the chat template writes it (its end-of-turn included)."""
        text, _ = self.render(prompt)
        if not chat.has_turns(prompt):
            return text, list(continuations)
        head = prompt[:-1] if isinstance(prompt[-1], str) else prompt
        last = prompt[-1] if isinstance(prompt[-1], str) else ""
        added = []
        for continuation in continuations:
            full, _ = self.render([*head, last + continuation])
            if not full.startswith(text):
                raise EvalkitError("the chat template writes an assistant turn differently from its generation "
                                   "prompt: continuations cannot be scored", path=self.name)
            added.append(full[len(text):].rstrip())
        return text, added

    def continuation_ids(self, prompt: Prompt, continuations: Sequence[str]) -> list[list[int]]:
        text, added = self.continuation_texts(prompt, continuations)
        return continuation_ids(self.tokenizer, text.rsplit(self.image_token, 1)[-1], added)

    def score_continuations(self, prompt: Prompt, continuations: Sequence[str], chunk_size: int | None = None,
                            with_prompt: bool = False) -> list[ContinuationScore]:
        """Log-probabilities of each continuation after `prompt`: the prompt (text and images) is
        encoded once; its keys/values serve every candidate, `chunk_size` candidates per forward. The
        prompt's own log-probability (`with_prompt`, for whole-sequence scores) is not computed here."""
        if with_prompt:
            raise EvalkitError("scores over the whole sequence (--normalization sequence-mean) need the prompt's "
                               "own log-probability, which only the IDEFICS adapter computes", path=self.name)
        inputs = self.model_inputs([prompt])
        chunk_size = chunk_size or self.choices_per_forward
        candidates = self.continuation_ids(prompt, continuations)
        scores: list[ContinuationScore] = []
        cache = new_cache(self.model)
        with torch.inference_mode():
            encoded = self.model(**inputs, logits_to_keep=1, **with_cache(self.model, cache))
            first = torch.log_softmax(encoded.logits[0, -1].float(), dim=-1)
            for start in range(0, len(candidates), chunk_size):
                chunk = candidates[start:start + chunk_size]
                ids, _ = padded_chunk(chunk, self.tokenizer.pad_token_id or 0, self.device)
                # No attention mask: the one prompt has no padding and each candidate's padding comes
                # after it, so causal attention already hides it; positions then follow the cache
                # length (plus Qwen2-VL's stored M-RoPE offset), as during generation.
                repeated = repeated_cache(self.model, cache, len(chunk))
                output = self.model(input_ids=ids, **with_cache(self.model, repeated))
                scores.extend(chunk_scores(first, torch.log_softmax(output.logits.float(), dim=-1), chunk))
        return scores

    def score_full_sequences(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """The slow reference: one whole (prompt + continuation) sequence per candidate, no cache."""
        text, added = self.continuation_texts(prompt, continuations)
        images = [segment for segment in prompt if not isinstance(segment, str)]
        results = []
        with torch.inference_mode():
            for tokens, extra in zip(self.continuation_ids(prompt, continuations), added):
                inputs = self._encode([text + extra], [images], chat.has_turns(prompt))
                logprobs = torch.log_softmax(self.model(**inputs).logits[0].float(), dim=-1)
                results.append(sequence_score(logprobs, tokens))
        return results
