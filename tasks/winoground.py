"""Winoground (400 examples, 0-shot only): each of the two captions scored after each of the two
images (`<image>Description of the image: {caption}`, m4's template 0), by the caption's summed
log-likelihood; official text, image and group scores. `m4`: m4's scoring, the mean log-probability
over the whole sequence (prompt and image markers included); m4's public code also swaps the text
and image labels (both kept in results.json: m4_text_score, m4_image_score)."""

from evalkit.data.winoground import WinogroundFiles
from evalkit.metrics.winoground import WinogroundScores
from evalkit.presets import base_and_instruct, ranking_task
from evalkit.taskspec import OfficialSize, Variant

TASK = ranking_task(
    "winoground",
    "Winoground, every caption scored with every image: group score (text / image scores beside it)",
    WinogroundFiles(),
    base_and_instruct("<image>Description of the image: {answer}", "Describe the image.", "{answer}",
                      image_block="<image>"),
    WinogroundScores(),
    metric_variants={"m4": Variant(WinogroundScores(variant="m4"), normalization="sequence-mean")},
    prompt_per_image=True,
    zero_shot="none",
    max_shots=0,
    published_name="Winoground",
    official_size=OfficialSize(queries=400, example_tokens=20, choices=2, choice_tokens=11, images=2),
)
