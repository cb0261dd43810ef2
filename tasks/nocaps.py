"""NoCaps (val): novel-object captioning; shots from COCO Karpathy train; CIDEr per domain and overall."""

from evalkit.data.captions import NoCapsFiles
from evalkit.metrics.captioning import CaptionMetric
from evalkit.postprocess import caption_answer
from evalkit.prompts.formats import caption_templates
from evalkit.taskspec import GenerationSettings, TaskSpec, random_reference

TASK = TaskSpec(
    name="nocaps",
    description="NoCaps val captioning, CIDEr x100 overall and in/near/out-domain (pycocoevalcap)",
    data=NoCapsFiles(),
    templates=caption_templates(),
    generation=GenerationSettings(max_new_tokens=20, num_beams=1),
    postprocess=caption_answer,
    metric=CaptionMetric(),
    demo_answer=random_reference,
    prediction_keys=("image_id", "caption"),
)
