"""Synthetic benchmark data in the official layouts, drawn with PIL, reproducible from a seed."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from evalkit.synthetic.classification import write_fairface, write_hatefulmemes, write_imagenet
from evalkit.synthetic.captions import write_coco, write_flickr30k, write_nocaps
from evalkit.synthetic.dialogs import write_visdial
from evalkit.synthetic.rendered_text import write_renderedsst2
from evalkit.synthetic.scienceqa import write_scienceqa
from evalkit.synthetic.vqa_family import write_okvqa, write_textcaps, write_textvqa, write_vizwiz
from evalkit.synthetic.vqav2 import write_vqav2
from evalkit.synthetic.winoground import write_winoground

# Bump when any picture, question or answer changes: cached copies are then rewritten.
GENERATOR_VERSION = 6

WRITERS: dict[str, Callable[..., object]] = {
    "vqav2": write_vqav2,
    "okvqa": write_okvqa,
    "textvqa": write_textvqa,
    "vizwiz": write_vizwiz,
    "coco": write_coco,
    "flickr30k": write_flickr30k,
    "nocaps": write_nocaps,
    "textcaps": write_textcaps,
    "hatefulmemes": write_hatefulmemes,
    "imagenet": write_imagenet,
    "fairface": write_fairface,
    "visdial": write_visdial,
    "scienceqa": write_scienceqa,
    "renderedsst2": write_renderedsst2,
    "winoground": write_winoground,
}


def write_all(root: Path, seed: int = 0) -> dict[str, Path]:
    """Every benchmark's synthetic copy in `root/<task>/`."""
    folders = {}
    for task, write in WRITERS.items():
        folders[task] = root / task
        write(folders[task], seed=seed)
    return folders
