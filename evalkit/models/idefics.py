"""IDEFICS (v1) through transformers: `IdeficsForVisionText2Text` + `IdeficsProcessor`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Collection, Sequence

import torch

from evalkit.errors import EvalkitError
from evalkit.models.base import Capabilities, ContinuationScore, context_length
from evalkit.models.chat import has_turns
from evalkit.models.choice_tree import TrieRow, attention_mask, pack_candidates, row_tensors, rows_per_forward
from evalkit.models.continuations import continuation_ids, continuation_score, prompt_log_probabilities, sequence_score
from evalkit.models.generation import generate_texts
from evalkit.models.idefics_features import FEATURES_KEYWORD, PrecomputedFeatures
from evalkit.models.idefics_inputs import FAKE_IMAGE_TOKEN, IMAGE_TOKEN, IdeficsInputs, PreparedBatch, prompt_to_text
from evalkit.models.kv_cache import new_cache, selected_cache, with_cache
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
    stays in the cache, and the model gets the features instead of pixels (`idefics_features`). With
    the cache off (`vision_cache_mb=0`) every prompt's images are encoded again for it, as the
    reference harnesses do.
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
        self.features = PrecomputedFeatures(model)
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

    # ---- context length (evalkit/prompts/context.py) ----

    @property
    def context_length(self) -> int | None:
        return context_length(self.model.config)

    def prompt_length(self, prompt: Prompt) -> int:
        """Tokens as `prepare` writes them; an image takes only its marker tokens (its features reach
        the text by cross-attention, not as positions)."""
        text = prompt_to_text(prompt, self.tokenizer.bos_token)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

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

    def encode_prompts(self, prompts: Sequence[Prompt]) -> dict[str, torch.Tensor]:
        """The model's keyword arguments for `prompts`, prepared in this process."""
        return self.model_inputs(self._prepare_here(prompts))

    def model_inputs(self, batch: PreparedBatch) -> dict[str, torch.Tensor]:
        """The model's keyword arguments: token ids, masks and the image features. They are meant for
        `forward` (or the adapter's own calls), which let the model take features already resampled."""
        inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
                  "image_attention_mask": batch.image_attention_mask}
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        inputs[FEATURES_KEYWORD] = self._image_features(batch)
        return inputs

    def forward(self, inputs: dict[str, torch.Tensor], **options: Any) -> Any:
        """The model's forward on `model_inputs`, without gradients."""
        with torch.inference_mode(), self.features.active():
            return self.model(**inputs, **options)

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
        features: list[torch.Tensor] = []
        with torch.inference_mode():
            for start in range(0, len(pixel_values), self.vision_chunk):
                features.extend(self.features.encode(pixel_values[start:start + self.vision_chunk].to(
                    self.device, self.dtype)))
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
        with self.features.active():  # undone after out-of-memory too: a retry finds no image states held
            return generate_texts(self.model, self.tokenizer, inputs, settings, stop_strings, self.image_token_ids,
                                  stop_ids)

    def continuation_ids(self, prompt: Prompt, continuations: Sequence[str]) -> list[list[int]]:
        tail = prompt[-1].strip(" ") if prompt and isinstance(prompt[-1], str) else ""
        return continuation_ids(self.tokenizer, tail, continuations)

    def score_continuations(self, prompt: Prompt, continuations: Sequence[str], chunk_size: int | None = None,
                            with_prompt: bool = False) -> list[ContinuationScore]:
        """Log-probabilities of each continuation after `prompt` (`score_prepared_batch` of one prompt)."""
        return self.score_prepared_batch(self._prepare_here([prompt]), [prompt], [continuations], chunk_size,
                                         with_prompt)[0]

    def score_prepared_batch(self, batch: PreparedBatch, prompts: Sequence[Prompt],
                             continuations: Sequence[Sequence[str]], chunk_size: int | None = None,
                             with_prompt: bool = False) -> list[list[ContinuationScore]]:
        """Log-probabilities of each prompt's continuations. The prompts (prepared as `batch`) run in
        one forward and keep their keys/values; the continuations follow as token tries
        (evalkit/models/choice_tree.py), up to `chunk_size` candidates per forward, whichever prompt
        they belong to, every shared prefix computed once. Equal to scoring each candidate alone
        after its prompt, up to float rounding. `with_prompt`: each score also carries its prompt's
        own log-probability (the prompt's logits at every position are then kept: more memory)."""
        inputs = self.model_inputs(batch)
        chunk_size = chunk_size or self.choices_per_forward
        candidates = [self.continuation_ids(p, c) for p, c in zip(prompts, continuations)]
        rows = [row for number, ids in enumerate(candidates) for row in pack_candidates(number, ids, chunk_size)]
        cache = new_cache(self.model)
        with torch.inference_mode(), self.features.active():
            encoded = self.model(**inputs, **with_cache(self.model, cache), logits_to_keep=0 if with_prompt else 1)
            first = torch.log_softmax(encoded.logits[:, -1].float(), dim=-1)
            own = (prompt_log_probabilities(encoded.logits, inputs["input_ids"], inputs["attention_mask"])
                   if with_prompt else [(None, 0)] * len(prompts))
            images = self.attended_images(inputs)
            values: dict[tuple[int, int], list[float]] = {}
            for chunk in rows_per_forward(rows, chunk_size):
                values.update(self._score_rows(cache, inputs, images, first, chunk, candidates))
        return [[continuation_score(values[number, index], *own[number]) for index in range(len(ids))]
                for number, ids in enumerate(candidates)]

    def attended_images(self, inputs: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Per prompt, the features of the images its last token cross-attends to ([prompts, m, tokens,
        dim]) and which of the m slots are real ([prompts, m]). Text after a prompt attends to these
        alone (IDEFICS: the latest image), so the others are never projected for the candidates."""
        last = inputs["image_attention_mask"][:, -1]  # [prompts, images]
        width = max(1, int(last.sum(-1).max()))
        features = inputs[FEATURES_KEYWORD]
        chosen = torch.zeros(len(last), width, *features.shape[2:], dtype=features.dtype, device=features.device)
        real = torch.zeros(len(last), width, dtype=last.dtype, device=last.device)
        for prompt, row in enumerate(last):
            attended = row.nonzero().flatten()
            chosen[prompt, : len(attended)] = features[prompt, attended]
            real[prompt, : len(attended)] = 1
        return chosen, real

    def _score_rows(self, prompt_cache: Any, inputs: dict, images: tuple[torch.Tensor, torch.Tensor],
                    first: torch.Tensor, rows: list[TrieRow],
                    candidates: list[list[list[int]]]) -> dict[tuple[int, int], list[float]]:
        """Each candidate of `rows`: its tokens' log-probabilities, keyed (prompt, candidate)."""
        fed = [row for row in rows if row.tokens]  # single-token candidates need no forward
        node_logprobs = torch.zeros(0, first.shape[-1])
        if fed:
            node_logprobs = self._forward_rows(prompt_cache, inputs, images, fed)
        offsets, total = {}, 0
        for row in fed:
            offsets[id(row)] = total
            total += len(row.tokens)
        where, tokens = [], []  # (prompt row of `first` or -1 - node row of node_logprobs, token)
        for row in rows:
            for candidate, reads in zip(row.candidates, row.reads):
                ids = candidates[row.prompt][candidate]
                where.append(row.prompt)
                where.extend(len(first) + offsets[id(row)] + node for node in reads)
                tokens.extend(ids)
        table = torch.cat([first, node_logprobs.to(first.device)])
        picked = table[torch.tensor(where, device=table.device), torch.tensor(tokens, device=table.device)].tolist()
        values, start = {}, 0
        for row in rows:
            for candidate in row.candidates:
                count = len(candidates[row.prompt][candidate])
                values[row.prompt, candidate] = picked[start:start + count]
                start += count
        return values

    def _forward_rows(self, prompt_cache: Any, inputs: dict, images: tuple[torch.Tensor, torch.Tensor],
                      rows: list[TrieRow]) -> torch.Tensor:
        """One forward of the rows' nodes after their prompts' keys/values: log-probabilities after
        each real node, [nodes, vocabulary], in row order."""
        owners = torch.tensor([row.prompt for row in rows], device=self.device)
        tensors = row_tensors(rows, self.tokenizer.pad_token_id, self.device)
        prompt_mask = inputs["attention_mask"][owners]
        features, real_images = images
        nodes = tensors.input_ids.shape[1]
        output = self.model(
            input_ids=tensors.input_ids,
            attention_mask=attention_mask(prompt_mask, tensors.ancestry, self.dtype),
            position_ids=prompt_mask.sum(-1, keepdim=True) + tensors.positions,
            image_attention_mask=real_images[owners][:, None, :].expand(-1, nodes, -1),
            **{FEATURES_KEYWORD: features[owners]},
            **with_cache(self.model, selected_cache(self.model, prompt_cache, owners)),
        )
        return torch.log_softmax(output.logits[tensors.real].float(), dim=-1)

    def score_full_sequences(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """The slow reference: one whole (prompt + continuation) sequence per candidate."""
        candidates = self.continuation_ids(prompt, continuations)
        results = []
        for continuation, tokens in zip(continuations, candidates):
            full = [*prompt[:-1], (prompt[-1] if isinstance(prompt[-1], str) else "") + continuation]
            inputs = self.encode_prompts([full if isinstance(prompt[-1], str) else [*prompt, continuation]])
            logprobs = torch.log_softmax(self.forward(inputs).logits[0].float(), dim=-1)
            results.append(sequence_score(logprobs, tokens))
        return results
