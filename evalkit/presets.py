"""Building blocks shared by task plugins of one family (the plugin still names its data and text)."""

from __future__ import annotations

from typing import Any

from evalkit.metrics.captioning import CaptionMetric
from evalkit.postprocess import caption_answer
from evalkit.prompts.formats import CHAT, OPENFLAMINGO, caption_templates, chat_template, openflamingo_template
from evalkit.taskspec import (DataSource, GenerationSettings, Metric, OfficialSize, PromptTemplate, TaskSpec,
                              random_reference)


def captioning_task(name: str, description: str, data: DataSource, published_name: str = "",
                    official_size: OfficialSize | None = None) -> TaskSpec:
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
        published_name=published_name,
        official_size=official_size,
    )


def ranking_task(name: str, description: str, data: DataSource, templates: dict[str, PromptTemplate],
                 metric: Metric, **options: Any) -> TaskSpec:
    """A classification benchmark: each example's choices ranked by log-likelihood of the answer text."""
    return TaskSpec(
        name=name,
        description=description,
        data=data,
        templates=templates,
        generation=GenerationSettings(),
        postprocess=lambda generation, stop_strings: generation,
        metric=metric,
        mode="rank",
        prediction_keys=("id", "scores"),
        **options,
    )


def base_and_instruct(example: str, instruct_user: str, instruct_answer: str, prefix: str = "",
                      openflamingo: str | None = None, image_block: str = "Image:<image>",
                      demo_suffix: str = "") -> dict[str, PromptTemplate]:
    """An IDEFICS base template, its instruct counterpart (one user turn, one assistant turn), the same
    turns for the model's chat template, and OpenFlamingo's `<image>...<|endofchunk|>` form when given
    (the text after `<image>`, with `{answer}`). `image_block` and `demo_suffix`: the base template's
    (see PromptTemplate)."""
    templates = {
        "idefics": PromptTemplate(prefix=prefix, example=example, image_block=image_block,
                                  stop_strings=("\n",), demo_suffix=demo_suffix),
        "idefics-instruct": PromptTemplate(
            prefix=prefix,
            example=f"User:<image>{instruct_user}<end_of_utterance>\nAssistant: {instruct_answer}<end_of_utterance>\n",
            stop_strings=("<end_of_utterance>",)),
        CHAT: chat_template(instruct_user, instruct_answer, prefix=prefix),
    }
    if openflamingo is not None:
        templates[OPENFLAMINGO] = openflamingo_template(openflamingo)
    return templates


def fairface_task(attribute: str, templates: dict[str, PromptTemplate], official_size: OfficialSize) -> TaskSpec:
    """One FairFace attribute (age, gender, race) as a ranking task with the bucket-spread metric."""
    from evalkit.data.classification import FairFaceFiles
    from evalkit.metrics.classification import BucketAccuracy

    return ranking_task(
        f"fairface-{attribute}",
        f"FairFace {attribute} (margin 0.25 images), accuracy and std of accuracy over race x gender buckets",
        FairFaceFiles(attribute=attribute),
        templates,
        BucketAccuracy(),
        published_name=f"FairFace-{attribute}",
        official_size=official_size,
    )
