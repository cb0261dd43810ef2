"""The embedded default: the offline tiny model and the synthetic data, created when missing."""

from __future__ import annotations

from pathlib import Path

from evalkit.registry import all_tasks
from evalkit.synthetic.scenes import corpus_sentences
from evalkit.synthetic.vqav2 import write_vqav2

DEFAULT_WORKDIR = Path(".evalkit")
RANDOM_MODEL = "models/idefics-tiny-random"
DATA = "data"


def tokenizer_corpus() -> list[str]:
    """Every task's template text plus the synthetic questions and answers, repeated for BPE merges."""
    texts = []
    for task in all_tasks().values():
        for template in task.templates.values():
            texts.append(template.prefix)
            texts.append(template.example.replace("{", "").replace("}", ""))
    return (texts + corpus_sentences()) * 4


def ensure_random_model(workdir: Path, seed: int = 0) -> Path:
    from evalkit.models.offline import build_tiny_idefics

    folder = workdir / RANDOM_MODEL
    if not (folder / "config.json").is_file():
        build_tiny_idefics(folder, tokenizer_corpus(), seed=seed)
    return folder


def ensure_data(workdir: Path, seed: int = 0) -> Path:
    folder = workdir / DATA / "vqav2"
    if not (folder / "v2_mscoco_val2014_annotations.json").is_file():
        write_vqav2(folder, seed=seed)
    return folder
