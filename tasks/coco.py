"""COCO captions, Karpathy split: queries from test (5,000 images), shots from train (restval excluded)."""

from evalkit.data.captions import KarpathyFiles
from evalkit.presets import captioning_task
from evalkit.taskspec import OfficialSize

TASK = captioning_task(
    "coco",
    "COCO captioning (Karpathy test), CIDEr x100 plus BLEU-4, METEOR, ROUGE-L (pycocoevalcap)",
    KarpathyFiles(file="dataset_coco.json"),
    published_name="COCO",
    official_size=OfficialSize(queries=5_000, example_tokens=24),
)
