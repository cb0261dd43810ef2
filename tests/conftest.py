"""Shared fixtures: the offline tiny IDEFICS and a small synthetic VQAv2, built once per session."""

from __future__ import annotations

import contextlib
import io
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


@pytest.fixture(scope="session")
def demo(synthetic_data, tmp_path_factory) -> dict:
    """`evalkit demo --shots 0,1 --limit 12` (the trained and the random tiny IDEFICS, then their report)
    on three tasks: open VQA with answer types, a yes/no ranking task scored by ROC-AUC and ImageNet's
    class ranking (captions left out: METEOR costs a Java start). Its work folder, what it printed and
    the report folder."""
    from evalkit import commands
    from evalkit.cli import main

    workdir = tmp_path_factory.mktemp("demo")
    (workdir / "data").symlink_to(synthetic_data, target_is_directory=True)
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(commands, "DEMO_TASKS", ("vqav2", "hatefulmemes", "imagenet"))
        assert main(["demo", "--workdir", str(workdir), "--shots", "0,1", "--limit", "12"]) == 0
    return {"workdir": workdir, "printed": printed.getvalue(), "report": workdir / "report"}


# Files tests keep for people to look at (screenshots), listed at the end of the session.
ARTIFACTS_FOLDER = Path(__file__).resolve().parents[1] / ".evalkit" / "test-artifacts"
ARTIFACTS: list[Path] = []


@pytest.fixture
def artifacts() -> list[Path]:
    """Append the paths of files written under ARTIFACTS_FOLDER: the session's summary names them."""
    ARTIFACTS_FOLDER.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_terminal_summary(terminalreporter) -> None:
    if ARTIFACTS:
        terminalreporter.write_line(f"test artifacts in {ARTIFACTS_FOLDER}: " + ", ".join(p.name for p in ARTIFACTS))
