"""The models the benchmarks measure, loaded one way for all of them.

- tiny: the embedded trained model (evalkit/embedded), as `evalkit run` loads it.
- mid: `MID_SIZE`, a random IDEFICS with IDEFICS-9B's layout and balance of vision and language
  work (evalkit/models/offline.py), written to `folder` and loaded as a checkpoint.
- 9b: `IDEFICS_9B_SIZE` with random weights, made directly on the device in the asked dtype
  (bfloat16 by default: writing and reading back 18 GB would take minutes of a GPU's time).

Each comes with `untouched`: a second copy of the weights that evalkit never modifies, for the
reference harnesses' methods (transformers' own pixel path).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from transformers import IdeficsForVisionText2Text

from evalkit.assets import TRAINED_MODEL, tokenizer_corpus
from evalkit.models.idefics import IdeficsAdapter
from evalkit.models.loading import resolve_device, resolve_dtype
from evalkit.models.offline import IDEFICS_9B_SIZE, MID_SIZE, build_tiny_idefics, random_idefics

NAMES = {"tiny": "embedded tiny (trained)", "mid": "mid-size random IDEFICS (9B layout)",
         "9b": "IDEFICS-9B-shaped random IDEFICS"}


def load_benchmark_model(choice: str, folder: Path, dtype: str = "auto", device: str = "auto",
                         attention: str = "auto", vision_cache_mb: float = 2048) -> tuple[str, IdeficsAdapter, Any]:
    """(name, adapter, untouched model) for `choice` (tiny, mid or 9b)."""
    if choice == "9b":
        torch_device = resolve_device(device)
        torch_dtype = torch.bfloat16 if dtype == "auto" else resolve_dtype(dtype, torch_device)
        model, processor = random_idefics(tokenizer_corpus(), seed=0, size=IDEFICS_9B_SIZE, dtype=torch_dtype,
                                          device=torch_device)
        adapter = IdeficsAdapter(model, processor, NAMES[choice], torch_dtype, torch_device, vision_cache_mb)
        return NAMES[choice], adapter, copy.deepcopy(model)
    if choice == "tiny":
        path = TRAINED_MODEL
    elif choice == "mid":
        path = build_tiny_idefics(folder / "mid", tokenizer_corpus(), seed=0, size=MID_SIZE)
    else:
        raise SystemExit(f"unknown model {choice!r}: tiny, mid or 9b")
    adapter = IdeficsAdapter.from_pretrained(str(path), dtype=dtype, device=device, attention=attention,
                                             vision_cache_mb=vision_cache_mb)
    untouched = IdeficsForVisionText2Text.from_pretrained(str(path), dtype=adapter.dtype).to(adapter.device).eval()
    return NAMES[choice], adapter, untouched
