"""TextCaps 0.1: captions that read the text in images; queries from val, shots from train."""

from evalkit.data.captions import TextCapsFiles
from evalkit.metrics.captioning import CaptionMetric
from evalkit.postprocess import caption_answer
from evalkit.prompts.formats import caption_templates
from evalkit.taskspec import GenerationSettings, TaskSpec, random_reference

TASK = TaskSpec(
    name="textcaps",
    description="TextCaps val captioning, CIDEr x100 plus BLEU-4, METEOR, ROUGE-L (pycocoevalcap)",
    data=TextCapsFiles(),
    templates=caption_templates(),
    generation=GenerationSettings(max_new_tokens=20, num_beams=1),
    postprocess=caption_answer,
    metric=CaptionMetric(),
    demo_answer=random_reference,
    prediction_keys=("image_id", "caption"),
)
