"""ImageNet-1k: the 1,000 CLIP-style class names ranked by log-likelihood; top-1 (and top-5) accuracy.
Support: 1 image per class ("1K"); --support-per-class 5 gives the "5K" support of RICES runs."""

from evalkit.data.classification import ImageNetFolders
from evalkit.metrics.classification import Accuracy
from evalkit.presets import base_and_instruct, ranking_task
from evalkit.taskspec import OfficialSize

TASK = ranking_task(
    "imagenet",
    "ImageNet-1k classification by class-name log-likelihood, top-1 and top-5 accuracy",
    ImageNetFolders(),
    base_and_instruct("Image:<image>Category: a photo of a {answer}.\n", "What is in this photo?",
                      "a photo of a {answer}.", openflamingo="Output:{answer}"),
    Accuracy(),
    support_per_class=1,
    published_name="ImageNet-1k",
    official_size=OfficialSize(queries=50_000, example_tokens=19, choices=998, choice_tokens=7),
)
