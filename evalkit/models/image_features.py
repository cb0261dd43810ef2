"""Vision features reused across prompts in image-text models whose images enter the text as token
embeddings (LLaVA, Idefics3/SmolVLM).

These families run the vision encoder on every image of every prompt, then write its features
over the embeddings of the image's tokens (`get_image_features(...).pooler_output`, scattered in
order where `input_ids` holds the image token). A k-shot run shows the same support images to many
queries, so each distinct image's features are computed once (the image processor on that image
alone, then `get_image_features`), kept in a `VisionFeatureCache`, and the model gets
`inputs_embeds` with them already in place. Families that place or position image features
otherwise (Qwen2-VL's M-RoPE needs the image grid with the ids; LLaVA-NeXT adds newline
embeddings) keep the pixel path, as does any batch whose image tokens do not match the features
in number.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from evalkit.models.vision_cache import VisionFeatureCache
from evalkit.types import ImageSource

# model_type -> the features sit in order on the image tokens, nothing else added
REUSES_FEATURES = ("llava", "idefics3", "smolvlm")
PIXEL_INPUTS = ("pixel_values", "pixel_attention_mask", "image_sizes")


class TokenFeatures:
    """Each distinct image's features (a [tokens, dim] tensor) encoded once while the cache keeps
    them, and model inputs that carry them as embeddings."""

    def __init__(self, model: Any, image_processor: Any, image_token_id: int, cache: VisionFeatureCache):
        self.model = model
        self.image_processor = image_processor
        self.image_token_id = image_token_id
        self.cache = cache

    def model_inputs(self, inputs: dict[str, torch.Tensor], images: Sequence[ImageSource]) -> dict[str, torch.Tensor]:
        """The processor's `inputs` for a batch whose images are `images` (all prompts', in order),
        with `inputs_embeds` in place of the ids and pixels; `inputs` unchanged when the image tokens
        and the features do not match in number."""
        if not images or "input_ids" not in inputs:
            return inputs
        by_key = {image.key: image for image in images}
        stored = self.cache.features([image.key for image in images],
                                     lambda keys: self._encode([by_key[key] for key in keys]))
        features = torch.cat([stored[image.key] for image in images])
        ids = inputs["input_ids"]
        positions = ids == self.image_token_id
        if int(positions.sum()) != features.shape[0]:
            return inputs
        embeddings = self.model.get_input_embeddings()(ids)
        embeddings[positions] = features.to(embeddings.device, embeddings.dtype)
        kept = {key: value for key, value in inputs.items() if key not in (*PIXEL_INPUTS, "input_ids")}
        return {**kept, "inputs_embeds": embeddings}

    def _encode(self, images: list[ImageSource]) -> list[torch.Tensor]:
        """The features of each image, processed and encoded on its own."""
        encoded = []
        with torch.inference_mode():
            for image in images:
                pixels = self.image_processor([image.load()], return_tensors="pt")
                arguments = {key: pixels[key].to(self.model.device) for key in PIXEL_INPUTS if key in pixels}
                arguments["pixel_values"] = arguments["pixel_values"].to(self.model.dtype)
                output = self.model.get_image_features(**arguments)
                pooled = output.pooler_output if hasattr(output, "pooler_output") else output
                encoded.append(torch.cat([part.reshape(-1, part.shape[-1]) for part in pooled]))
        return encoded
