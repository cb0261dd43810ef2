"""Shared fixtures: the offline tiny IDEFICS and a small synthetic VQAv2, built once per session."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from evalkit.assets import ensure_data, tokenizer_corpus
from evalkit.models.offline import TinySize, build_tiny_idefics
from evalkit.synthetic.scenes import random_scene
from evalkit.synthetic.vqav2 import write_vqav2
from evalkit.types import FileImage

logging.getLogger("transformers").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_idefics(tmp_path_factory.mktemp("models") / "idefics-tiny", tokenizer_corpus(), seed=0)


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> list[FileImage]:
    """Seven synthetic scenes (PNG files) for prompts built by hand."""
    folder = tmp_path_factory.mktemp("images")
    rng = random.Random(3)
    paths = []
    for number in range(7):
        path = folder / f"{number}.png"
        random_scene(rng).draw(rng).save(path)
        paths.append(FileImage(path))
    return paths


@pytest.fixture(scope="session")
def released_layout_model(tmp_path_factory) -> Path:
    """Random weights in the released checkpoints' layout: perceiver resampler on, a gated
    cross-attention block every 2nd layer (IDEFICS-9B: every 4th)."""
    size = TinySize(num_hidden_layers=4, cross_layer_interval=2, use_resampler=True, perceiver_depth=2)
    return build_tiny_idefics(tmp_path_factory.mktemp("released-layout"), tokenizer_corpus(), seed=1, size=size)


@pytest.fixture(scope="session")
def vqav2_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data") / "vqav2"
    write_vqav2(root, seed=0, scale=0.1)
    return root


def _build_family(tmp_path_factory, family: str) -> Path:
    from evalkit.cli import main

    folder = tmp_path_factory.mktemp("models") / family
    assert main(["build-model", "--family", family, "--output", str(folder)]) == 0
    return folder


@pytest.fixture(scope="session")
def idefics3_model(tmp_path_factory) -> Path:
    """A random-weight Idefics3 (SmolVLM architecture), built with `evalkit build-model --family idefics3`."""
    return _build_family(tmp_path_factory, "idefics3")


@pytest.fixture(scope="session")
def llava_model(tmp_path_factory) -> Path:
    """A random-weight LLaVA-1.5 architecture, built with `evalkit build-model --family llava`."""
    return _build_family(tmp_path_factory, "llava")


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Path:
    """Every task's synthetic data (`evalkit make-data`, seed 0), one sub-folder per task."""
    return ensure_data(tmp_path_factory.mktemp("synthetic"))
