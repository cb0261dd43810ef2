"""Building blocks shared by task plugins of one family (the plugin still names its data and text)."""

from __future__ import annotations

from evalkit.metrics.captioning import CaptionMetric
from evalkit.postprocess import caption_answer
from evalkit.prompts.formats import caption_templates
from evalkit.taskspec import DataSource, GenerationSettings, TaskSpec, random_reference


def captioning_task(name: str, description: str, data: DataSource) -> TaskSpec:
    """A captioning benchmark: the caption templates, 20 greedy tokens, CIDEr & co., COCO results format."""
    return TaskSpec(
        name=name,
        description=description,
        data=data,
        templates=caption_templates(),
        generation=GenerationSettings(max_new_tokens=20, num_beams=1),
        postprocess=caption_answer,
        metric=CaptionMetric(),
        demo_answer=random_reference,
        prediction_keys=("image_id", "caption"),
    )
