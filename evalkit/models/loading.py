"""Shared `from_pretrained` plumbing: dtype and device names, and one-line load errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import torch

from evalkit.errors import EvalkitError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
T = TypeVar("T")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EvalkitError("CUDA was asked for but no GPU is visible", field="--device")
    return torch.device(device)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise EvalkitError(f"unknown dtype {name!r} (known: auto, {', '.join(DTYPES)})", field="--dtype")
    return DTYPES[name]


def check_checkpoint_location(model: str) -> None:
    """A local path must be a checkpoint folder; anything else is taken as a hub id."""
    path = Path(model)
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise EvalkitError("not a model checkpoint folder (no config.json)", path=path)
    elif model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise EvalkitError("model folder not found", path=path)


def load_or_explain(what: str, model: str, loader: Callable[[], T]) -> T:
    try:
        return loader()
    except EvalkitError:
        raise
    except Exception as error:  # transformers raises OSError, ValueError, KeyError...: one line for the user
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise EvalkitError(f"cannot load {what}: {message}", path=model) from None


def model_revision(model: Any) -> str | None:
    return getattr(getattr(model, "config", None), "_commit_hash", None)


ATTENTION_CHOICES = ("auto", "sdpa", "eager", "flash_attention_2")


def attention_option(attention: str) -> dict[str, str]:
    """`attn_implementation` for `from_pretrained`: auto leaves transformers' default (SDPA where the
    architecture supports it, which IDEFICS does); the others are passed through as asked."""
    if attention not in ATTENTION_CHOICES:
        raise EvalkitError(f"unknown attention {attention!r} (known: {', '.join(ATTENTION_CHOICES)})",
                           field="--attention")
    return {} if attention == "auto" else {"attn_implementation": attention}


def checkpoint_signature(model: str) -> list[list[Any]] | None:
    """What identifies a local checkpoint's contents cheaply: each file's name and size, with a
    hash for small files (configs, tokenizer) and the modification time for large ones (weights), so
    a checkpoint rebuilt in the same folder is not mistaken for the old one. None for a hub id."""
    import hashlib

    folder = Path(model)
    if not folder.is_dir():
        return None
    signature: list[list[Any]] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        mark = (hashlib.sha256(path.read_bytes()).hexdigest()[:16] if stat.st_size < 2**20
                else stat.st_mtime_ns)
        signature.append([str(path.relative_to(folder)), stat.st_size, mark])
    return signature


def load_model_and_processor(model_class: Any, model: str, dtype: str, device: str, revision: str | None,
                             trust_remote_code: bool, attention: str = "auto",
                             device_map: str | None = None) -> tuple[Any, Any, torch.dtype, torch.device]:
    """`from_pretrained` of the processor and the model, in eval mode, on `device` or spread by
    `device_map="auto"` across the node's GPUs (accelerate); also the dtype and the inputs' device."""
    from transformers import AutoProcessor

    check_checkpoint_location(model)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    options = {"revision": revision, "trust_remote_code": trust_remote_code}
    processor = load_or_explain("the processor", model, lambda: AutoProcessor.from_pretrained(model, **options))
    placement = {"device_map": device_map} if device_map else {}
    network = load_or_explain(
        "the model", model,
        lambda: model_class.from_pretrained(model, dtype=torch_dtype, **attention_option(attention), **placement,
                                            **options),
    )
    if not device_map:
        network.to(torch_device)
    network.eval()
    return network, processor, torch_dtype, (network.device if device_map else torch_device)
