"""Flickr30k captions, Karpathy split: queries from test (1,000 images), shots from train."""

from evalkit.data.captions import KarpathyFiles
from evalkit.metrics.captioning import CaptionMetric
from evalkit.postprocess import caption_answer
from evalkit.prompts.formats import caption_templates
from evalkit.taskspec import GenerationSettings, TaskSpec, random_reference

TASK = TaskSpec(
    name="flickr30k",
    description="Flickr30k captioning (Karpathy test), CIDEr x100 plus BLEU-4, METEOR, ROUGE-L (pycocoevalcap)",
    data=KarpathyFiles(file="dataset_flickr30k.json", image_folder="flickr30k-images", id_from="filename"),
    templates=caption_templates(),
    generation=GenerationSettings(max_new_tokens=20, num_beams=1),
    postprocess=caption_answer,
    metric=CaptionMetric(),
    demo_answer=random_reference,
    prediction_keys=("image_id", "caption"),
)
