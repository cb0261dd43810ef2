"""Flickr30k captions, Karpathy split: queries from test (1,000 images), shots from train."""

from evalkit.data.captions import KarpathyFiles
from evalkit.presets import captioning_task
from evalkit.taskspec import OfficialSize

TASK = captioning_task(
    "flickr30k",
    "Flickr30k captioning (Karpathy test), CIDEr x100 plus BLEU-4, METEOR, ROUGE-L (pycocoevalcap)",
    KarpathyFiles(file="dataset_flickr30k.json", image_folder="flickr30k-images", id_from="filename"),
    published_name="Flickr30k",
    official_size=OfficialSize(queries=1_000, example_tokens=26),
)
