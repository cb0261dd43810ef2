"""IDEFICS model inputs built from interleaved prompts, split from the model so that it can run in
DataLoader workers: text -> token ids and masks, images -> pixel tensors (only those asked for).

The text follows `IdeficsProcessor` (a test checks the tensors are identical): a `<s>`, each text
stripped of surrounding spaces, `<fake_token_around_image><image><fake_token_around_image>` for an
image (two images in a row share the fake token between them), no `<end_of_utterance>` inserted.
Building it here lets an image whose features are cached skip decoding and preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Sequence

import torch

from evalkit.types import ImageSource, Prompt

IMAGE_TOKEN = "<image>"
FAKE_IMAGE_TOKEN = "<fake_token_around_image>"


@dataclass
class PreparedBatch:
    """Everything the model needs for a batch of prompts, except the image features themselves."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    image_attention_mask: torch.Tensor
    images: list[list[ImageSource]]  # each prompt's images, in reading order
    pixels: dict[str, torch.Tensor] = field(default_factory=dict)  # preprocessed, by image key

    @property
    def max_images(self) -> int:
        return max(1, max(len(row) for row in self.images))

    def pixel_values(self, default_dims: Sequence[int]) -> torch.Tensor:
        """[batch, max_images, channels, height, width], zeros where a prompt has fewer images
        (the layout `IdeficsProcessor` returns)."""
        values = torch.zeros(len(self.images), self.max_images, *default_dims)
        for row, images in enumerate(self.images):
            for column, image in enumerate(images):
                values[row, column] = self.pixels[image.key]
        return values


def prompt_to_text(prompt: Prompt, bos_token: str) -> str:
    text, last_was_image = bos_token, False
    for segment in prompt:
        if isinstance(segment, str):
            text += segment.strip(" ")
            last_was_image = False
        else:
            text += (IMAGE_TOKEN + FAKE_IMAGE_TOKEN) if last_was_image else (
                FAKE_IMAGE_TOKEN + IMAGE_TOKEN + FAKE_IMAGE_TOKEN)
            last_was_image = True
    return text


def latest_image_index(input_ids: torch.Tensor, image_token_id: int, eos_token_id: int | None) -> torch.Tensor:
    """For each token, the index (within its row) of the latest image at or before it; -1 before the
    first image and after an end-of-sequence token until the next image. The processor's rule
    (transformers' `image_attention_mask_for_packed_input_ids`, a Python loop over every token that
    took a third of a 32-shot batch's time), computed with cumulative operations."""
    is_image = input_ids == image_token_id
    index = is_image.long().cumsum(dim=-1) - 1
    positions = torch.arange(input_ids.shape[-1]).expand_as(input_ids)
    last_image = torch.where(is_image, positions, -1).cummax(dim=-1).values
    if eos_token_id is not None:
        last_eos = torch.where(input_ids == eos_token_id, positions, -1).cummax(dim=-1).values
        eos_before = torch.cat([torch.full_like(last_eos[:, :1], -1), last_eos[:, :-1]], dim=-1)
        index[eos_before > last_image] = -1
    return index


def image_attention_mask(latest_image: torch.Tensor, num_images: int) -> torch.Tensor:
    """[batch, tokens, num_images]: 1 where a token cross-attends to that image (the latest one at or
    before it, from `latest_image_index`), as the processor writes it (int64)."""
    return (latest_image[..., None] == torch.arange(num_images)).long()


class IdeficsInputs:
    """Builds `PreparedBatch`es with an IDEFICS processor (its tokenizer and image processor)."""

    def __init__(self, processor: Any):
        self.tokenizer = processor.tokenizer
        self.image_processor = processor.image_processor
        self.default_image_dims = tuple(processor.default_image_dims)

    def prepare(self, prompts: Sequence[Prompt], skip: Collection[str] = ()) -> PreparedBatch:
        """Token ids and masks for `prompts`; pixels for every image whose key is not in `skip`."""
        texts = [prompt_to_text(prompt, self.tokenizer.bos_token) for prompt in prompts]
        encoded = self.tokenizer(texts, add_special_tokens=False, padding="longest", return_tensors="pt")
        images = [[s for s in prompt if not isinstance(s, str)] for prompt in prompts]
        batch = PreparedBatch(encoded["input_ids"], encoded["attention_mask"], torch.zeros(0), images)
        if any(images):
            incremental = latest_image_index(batch.input_ids, self.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                                             self.tokenizer.eos_token_id)
            batch.image_attention_mask = image_attention_mask(incremental, batch.max_images)
        else:
            batch.image_attention_mask = torch.zeros(*batch.input_ids.shape, 1, dtype=torch.bool)
        wanted = {image.key: image for row in images for image in row if image.key not in skip}
        batch.pixels = self.pixels(list(wanted.values()))
        return batch

    def pixels(self, images: Sequence[ImageSource]) -> dict[str, torch.Tensor]:
        """Decoded and preprocessed images (resized, normalised), by key."""
        if not images:
            return {}
        values = self.image_processor([image.load() for image in images], return_tensors="pt")
        return {image.key: tensor for image, tensor in zip(images, values)}
