"""What evalkit relies on in transformers holds on the installed release, and fails loudly when it
does not: no deprecated path is taken (a deprecation is the notice of a change of meaning, such as
`image_hidden_states` in 5.24 announcing 5.30), the cache goes in under the forward's own keyword,
and a model comes back from evalkit's calls exactly as it went in.

Numerical agreement with transformers' own pixel path is held in test_throughput_paths.py."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Iterator

import pytest
import torch

from evalkit.assets import TRAINED_MODEL
from evalkit.errors import EvalkitError
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.kv_cache import cache_keyword, new_cache, repeated_cache, with_cache
from evalkit.taskspec import GenerationSettings

SETTINGS = GenerationSettings(max_new_tokens=4, num_beams=1, length_penalty=1.0)
BEAMS = GenerationSettings(max_new_tokens=4, num_beams=2, length_penalty=0.0)


@pytest.fixture(scope="module")
def prompts(images) -> list[list]:
    return [["Image:", images[0], "Question: What colour is it? Answer: red\nImage:", images[1],
             "Question: What colour is it? Answer:"],
            ["Image:", images[2], "Question: How many shapes? Answer:"]]


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def deprecations() -> Iterator[list[str]]:
    """Every deprecation notice transformers gives inside the block: its logger's warnings
    (`warning_once`'s memory of earlier ones cleared) and Python's FutureWarning/DeprecationWarning."""
    from transformers.utils import logging as transformers_logging

    clear = getattr(getattr(transformers_logging, "warning_once", None), "cache_clear", None)
    if clear is not None:
        clear()
    library = logging.getLogger("transformers")
    handler, level = Collected(), library.level
    library.addHandler(handler)
    library.setLevel(logging.WARNING)
    found: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield found
    finally:
        library.removeHandler(handler)
        library.setLevel(level)
    found.extend(message for message in handler.messages if "deprecat" in message.lower())
    found.extend(str(w.message) for w in caught
                 if issubclass(w.category, (FutureWarning, DeprecationWarning)) and "transformers" in w.filename)


def exercise(adapter: IdeficsAdapter, prompts: list[list]) -> None:
    adapter.generate(prompts, SETTINGS, ["\n"])
    adapter.generate(prompts, BEAMS, ["\n"])
    adapter.score_continuations(prompts[0], [" red", " blue square"])


def test_the_deprecation_detector_sees_a_deprecation():
    """The check below is not vacuous: a notice given as transformers gives them is caught."""
    from transformers.utils import logging as transformers_logging

    with deprecations() as found:
        transformers_logging.get_logger("transformers.models.idefics").warning_once(
            "`image_hidden_states` is deprecated (test)")
    assert found == ["`image_hidden_states` is deprecated (test)"]


@pytest.mark.parametrize("layout", ["trained", "released"])
def test_no_deprecated_transformers_path_is_taken(layout, prompts, released_layout_model):
    folder = TRAINED_MODEL if layout == "trained" else released_layout_model
    for cache_mb in (64, 0):
        adapter = IdeficsAdapter.from_pretrained(str(folder), vision_cache_mb=cache_mb)
        with deprecations() as found:
            exercise(adapter, prompts)
        assert found == [], f"transformers announces a change in what evalkit uses: {found}"


@pytest.mark.parametrize("family", ["idefics3_model", "llava_model"])
def test_no_deprecated_path_is_taken_by_the_image_text_adapter(family, request, images):
    from evalkit.models.select import load_adapter

    folder = str(request.getfixturevalue(family))
    prompt = ["Image:", images[0], "Question: What colour is it? Answer: red\nImage:", images[1],
              "Question: What colour is it? Answer:"]
    for cache_mb in (64, 0):
        adapter = load_adapter(folder, device="cpu", vision_cache_mb=cache_mb)
        with deprecations() as found:
            adapter.generate([prompt, prompt[3:]], SETTINGS, ["\n"])
            adapter.score_continuations(prompt, [" red", " blue square"])
        assert found == [], f"transformers announces a change in what evalkit uses: {found}"


def test_the_model_comes_back_as_it_went_in(prompts, released_layout_model):
    adapter = IdeficsAdapter.from_pretrained(str(released_layout_model), vision_cache_mb=64)
    model = adapter.model
    resampler, key_projection = model.model.perceiver_resampler, model.model.gated_cross_attn_layers[0].cross_attn.k_proj
    keys = list(model.state_dict())
    exercise(adapter, prompts)
    adapter.forward(adapter.encode_prompts(prompts))
    assert model.model.perceiver_resampler is resampler
    assert model.model.gated_cross_attn_layers[0].cross_attn.k_proj is key_projection
    assert "prepare_inputs_for_generation" not in vars(model)
    assert list(model.state_dict()) == keys
    assert all(wrapper._input is None for _, _, wrapper in adapter.features.projections)  # no image states held


def test_the_cache_goes_in_under_the_forwards_own_keyword(prompts):
    import inspect

    adapter = IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), vision_cache_mb=64)
    keyword = cache_keyword(adapter.model)
    assert keyword in inspect.signature(type(adapter.model).forward).parameters
    inputs = adapter.encode_prompts(prompts[1:])
    cache = new_cache(adapter.model)
    with torch.inference_mode(), adapter.features.active():
        adapter.model(**inputs, **with_cache(adapter.model, cache))
    assert cache.get_seq_length() == inputs["input_ids"].shape[1]  # filled in place by the forward
    repeated = repeated_cache(adapter.model, cache, 3)
    assert repeated.get_seq_length() == cache.get_seq_length()
    assert torch.equal(repeated.layers[0].keys[2], cache.layers[0].keys[0])


def test_a_forward_without_a_known_cache_keyword_is_one_clear_error():
    class Elsewhere(torch.nn.Module):
        def forward(self, input_ids, memory=None):
            return input_ids

    with pytest.raises(EvalkitError, match="Elsewhere.forward takes none of cache, past_key_values"):
        cache_keyword(Elsewhere())

