"""The embedded default: the trained tiny model (in the package), the random tiny model and the
synthetic data (built into a work folder when missing or out of date)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from evalkit.errors import EvalkitError
from evalkit.prompts.formats import IDEFICS_FORMATS
from evalkit.registry import all_tasks
from evalkit.taskspec import TURN_MARKERS
from evalkit import synthetic
from evalkit.synthetic import captions as synthetic_captions
from evalkit.synthetic import classification as synthetic_classification
from evalkit.synthetic import dialogs, rendered_text, scienceqa, vqa_family, winoground
from evalkit.synthetic.scenes import corpus_sentences
from evalkit.synthetic.vqav2 import SPLITS

DEFAULT_WORKDIR = Path(".evalkit")
# The embedded default, trained by `evalkit train-tiny` (its README gives the exact command).
TRAINED_MODEL = Path(__file__).resolve().parent / "embedded" / "idefics-tiny-trained"
RANDOM_MODEL = "models/idefics-tiny-random"
STAMP = "evalkit_fingerprint.txt"


def _template_texts(formats: Callable[[str], bool]) -> list[str]:
    """The prefix and example text (placeholder braces removed) of every task's templates whose format
    name passes `formats`, in the tasks' and templates' order."""
    texts = []
    for task in all_tasks().values():
        for name, template in task.templates.items():
            if formats(name):
                texts.append(template.prefix)
                texts.append(template.example.replace("{", "").replace("}", ""))
    return texts


def _is_idefics_format(name: str) -> bool:
    return name.removesuffix("-ocr") in IDEFICS_FORMATS


def tokenizer_corpus() -> list[str]:
    """Every task's IDEFICS template text plus the synthetic questions and answers, repeated for BPE
    merges (the embedded model's tokenizer is trained on exactly this: other formats stay out)."""
    sentences = (corpus_sentences() + vqa_family.corpus_sentences() + synthetic_captions.corpus_sentences()
                 + synthetic_classification.corpus_sentences() + dialogs.corpus_sentences()
                 + scienceqa.corpus_sentences() + rendered_text.corpus_sentences() + winoground.corpus_sentences())
    return (_template_texts(_is_idefics_format) + sentences) * 4


def all_formats_corpus() -> list[str]:
    """`tokenizer_corpus()` plus the text of the other prompt formats (OpenFlamingo, chat turns), the
    chat turn markers removed: the corpus of the offline models of other families."""
    others = _template_texts(lambda name: not _is_idefics_format(name))
    for marker in TURN_MARKERS:
        others = [text.replace(marker, " ") for text in others]
    return tokenizer_corpus() + others * 4


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _up_to_date(folder: Path, fingerprint: str) -> bool:
    stamp = folder / STAMP
    return stamp.is_file() and stamp.read_text().strip() == fingerprint


def check_ours(folder: Path, option: str) -> None:
    """Refuse to write over a folder that holds files evalkit did not write (its STAMP marks its own):
    synthetic files carry the official names and would replace a user's real data."""
    if not folder.is_dir() or (folder / STAMP).is_file():
        return
    held = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir())
    if held:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise EvalkitError(f"not empty (holds {shown}) and not written by evalkit: its files would be replaced; "
                           f"choose an empty folder{option}", path=folder)


def _rebuild(folder: Path, fingerprint: str, build) -> Path:
    check_ours(folder, " or another --workdir")
    if folder.exists():
        shutil.rmtree(folder)
    build(folder)
    (folder / STAMP).write_text(fingerprint + "\n")
    return folder


def ensure_random_model(workdir: Path, seed: int = 0) -> Path:
    """The random-weight tiny IDEFICS, rebuilt when its size or tokenizer corpus changed."""
    from evalkit.models.offline import TinySize, build_tiny_idefics

    corpus = tokenizer_corpus()
    fingerprint = _fingerprint(asdict(TinySize()), corpus, seed)
    folder = workdir / RANDOM_MODEL
    if _up_to_date(folder, fingerprint):
        return folder
    return _rebuild(folder, fingerprint, lambda out: build_tiny_idefics(out, corpus, seed=seed))


def _data_fingerprint(seed: int) -> str:
    return _fingerprint(synthetic.GENERATOR_VERSION, sorted(synthetic.WRITERS), SPLITS, seed)


def ensure_data(workdir: Path, seed: int = 0) -> Path:
    """Synthetic copies of every benchmark in `<workdir>/data/<task>/`, rewritten when the generator
    changed; returns `<workdir>/data`."""
    folder = workdir / "data"
    if _up_to_date(folder, _data_fingerprint(seed)):
        return folder
    return _rebuild(folder, _data_fingerprint(seed), lambda out: synthetic.write_all(out, seed=seed))


def make_data(root: Path, seed: int = 0, force: bool = False) -> dict[str, Path]:
    """`evalkit make-data`: every benchmark's synthetic copy in `root/<task>/`, into an empty folder
    or one evalkit wrote (`force` writes over anything)."""
    if not force:
        check_ours(root, " or pass --force")
    folders = synthetic.write_all(root, seed=seed)
    (root / STAMP).write_text(_data_fingerprint(seed) + "\n")
    return folders
