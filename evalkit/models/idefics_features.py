"""Precomputed image features into IDEFICS, the same way on every transformers release.

evalkit encodes each image once (vision encoder, then the perceiver resampler where the model has
one) and hands the model those features instead of pixels. The forward's keywords for them changed
meaning between releases: `perceiver_embeddings` is read as [batch, images, latents, dim] by 5.23 and
as [batch x images, latents, dim] by 5.24, and `generate` carries the image states from one step to
the next under names that changed in 5.24 (`image_hidden_states` became `image_outputs`) and change
meaning again from 5.30. Only `image_encoder_embeddings` as [batch, images, tokens, dim] is read alike
by every release, so evalkit uses nothing else. While an evalkit call runs (`PrecomputedFeatures.active`):

- a model with a resampler has it replaced by an identity, since the features are already resampled;
- every forward of a `generate` call gets the features the call was given
  (`prepare_inputs_for_generation` is wrapped), never the states generate carried forward;
- the cross-attention key/value projections are computed once per call (`ReusedProjection`).

All of it is undone when the call ends: outside evalkit's calls the model is as it was loaded.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch

from evalkit.models.cross_attention import image_projections

FEATURES_KEYWORD = "image_encoder_embeddings"
IMAGE_INPUTS = ("pixel_values", "image_encoder_embeddings", "perceiver_embeddings")


class PrecomputedFeatures:
    """What an IDEFICS model needs to take evalkit's image features, installed only while active."""

    def __init__(self, model: Any):
        self.model = model
        self.core = model.model
        self.resampler = self.core.perceiver_resampler if model.config.use_resampler else None
        self.projections = image_projections(model)
        self._depth = 0
        self._replaced: Any = None

    def encode(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Features of [images, channels, height, width] pixels: [images, tokens, dim]."""
        hidden = self.core.vision_model(pixel_values=pixel_values).last_hidden_state
        return hidden if self.resampler is None else self.resampler(hidden)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Installed for the block (once, when blocks nest), undone when the outermost one ends."""
        outermost = self._depth == 0
        if outermost:
            self._install()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if outermost:
                self._uninstall()

    def _install(self) -> None:
        if self.resampler is not None:
            self.core.perceiver_resampler = torch.nn.Identity()
        for attention, name, wrapper in self.projections:
            setattr(attention, name, wrapper)
        self._replaced = vars(self.model).get("prepare_inputs_for_generation")
        original = self.model.prepare_inputs_for_generation

        def prepare_with_given_features(*args: Any, **kwargs: Any) -> dict[str, Any]:
            inputs = original(*args, **kwargs)
            given = kwargs.get(FEATURES_KEYWORD)
            if given is not None:
                for key in IMAGE_INPUTS:
                    inputs.pop(key, None)
                inputs[FEATURES_KEYWORD] = given
            return inputs

        self.model.prepare_inputs_for_generation = prepare_with_given_features

    def _uninstall(self) -> None:
        if self._replaced is None:
            del self.model.prepare_inputs_for_generation  # the class's own method shows through again
        else:
            self.model.prepare_inputs_for_generation = self._replaced
        for attention, name, wrapper in self.projections:
            wrapper.forget()
            setattr(attention, name, wrapper.projection)
        if self.resampler is not None:
            self.core.perceiver_resampler = self.resampler
