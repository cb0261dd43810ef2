"""Which adapter serves a checkpoint: read from its config's `model_type`, never from a task."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from evalkit.errors import EvalkitError
from evalkit.models.base import Capabilities
from evalkit.models.loading import check_checkpoint_location, load_or_explain


@dataclass(frozen=True)
class AdapterInfo:
    """One adapter as `evalkit models` lists it."""

    name: str
    description: str
    model_types: tuple[str, ...]  # the checkpoints' config model_type it serves; () = any image-text-to-text
    capabilities: Capabilities
    prompt_formats: str
    adapter_class: Callable[[], type]  # imported on use: listing adapters loads no model code


def _idefics() -> type:
    from evalkit.models.idefics import IdeficsAdapter

    return IdeficsAdapter


def _image_text() -> type:
    from evalkit.models.image_text import ImageTextAdapter

    return ImageTextAdapter


ADAPTERS = (
    AdapterInfo("idefics", "IDEFICS v1 (IdeficsForVisionText2Text + IdeficsProcessor), cross-attention to images",
                ("idefics",), Capabilities(generation=True, scoring=True, max_images=None),
                "idefics (default), idefics-instruct (default for *instruct* folders), openflamingo",
                _idefics),
    AdapterInfo("image-text", "AutoModelForImageTextToText + AutoProcessor: images as tokens in the text "
                "(Idefics2, Idefics3/SmolVLM, LLaVA, Qwen2-VL, ...)",
                (), Capabilities(generation=True, scoring=True, max_images=None),
                "chat-template (default where the processor has one), idefics, openflamingo",
                _image_text),
)


def loads_as_image_text_to_text(model_type: str) -> bool:
    """Whether `AutoModelForImageTextToText` has a class for checkpoints of this `model_type`."""
    from transformers import CONFIG_MAPPING, MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING

    return model_type in CONFIG_MAPPING and CONFIG_MAPPING[model_type] in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING


def model_type_of(model: str, revision: str | None = None, trust_remote_code: bool = False) -> str:
    """The `model_type` of a checkpoint folder's config.json, or of a hub checkpoint's config."""
    check_checkpoint_location(model)
    config_file = Path(model) / "config.json"
    if config_file.is_file():
        try:
            model_type = json.loads(config_file.read_text()).get("model_type")
        except (json.JSONDecodeError, AttributeError):
            raise EvalkitError("not a JSON object", path=config_file) from None
        if not isinstance(model_type, str):
            raise EvalkitError("no model_type", path=config_file, field="model_type")
        return model_type
    from transformers import AutoConfig

    config = load_or_explain("the config", model, lambda: AutoConfig.from_pretrained(
        model, revision=revision, trust_remote_code=trust_remote_code))
    return config.model_type


def adapter_for(model_type: str) -> AdapterInfo:
    for info in ADAPTERS:
        if model_type in info.model_types:
            return info
    if loads_as_image_text_to_text(model_type):
        return next(info for info in ADAPTERS if not info.model_types)
    raise EvalkitError(f"no adapter for model_type {model_type!r}: evalkit runs IDEFICS and the models "
                       "AutoModelForImageTextToText loads (see `evalkit models`)", field="--model")


def load_adapter(model: str, dtype: str = "auto", device: str = "auto", revision: str | None = None,
                 trust_remote_code: bool = False, **options: Any) -> Any:
    """The adapter serving `model`, loaded; `options` (attention, device_map, vision_cache_mb) go to
    the adapters that take them."""
    info = adapter_for(model_type_of(model, revision, trust_remote_code))
    accepted = inspect.signature(info.adapter_class().from_pretrained).parameters
    return info.adapter_class().from_pretrained(model, dtype=dtype, device=device, revision=revision,
                                                trust_remote_code=trust_remote_code,
                                                **{k: v for k, v in options.items() if k in accepted})


def wrap_model(model: Any, processor: Any, name: str, vision_cache_mb: float) -> Any:
    """The adapter serving a model object already loaded (by a training loop, say), in its own dtype
    and on its own device: nothing is loaded, moved or cast."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if not isinstance(model_type, str):
        raise EvalkitError(f"not a transformers model (no config.model_type): {type(model).__name__}", field="model")
    if processor is None or getattr(processor, "tokenizer", None) is None:
        raise EvalkitError("a model object needs its processor (with a tokenizer): pass processor=", field="processor")
    info = adapter_for(model_type)
    return info.adapter_class()(model, processor, name, model.dtype, model.device, vision_cache_mb=vision_cache_mb)


def load_configured(config: Any, device: str) -> Any:
    """The adapter of a run configuration's model, loaded as it says (dtype, revision, attention...)
    on `device` (this process's own under torchrun)."""
    return load_adapter(config.model, dtype=config.dtype, device=device, revision=config.revision,
                        trust_remote_code=config.trust_remote_code, attention=config.attention,
                        device_map=config.device_map, vision_cache_mb=config.vision_cache_mb)
