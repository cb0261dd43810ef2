"""FairFace age (9 buckets): class names ranked by log-likelihood; accuracy and its std across buckets."""

from evalkit.data.classification import FairFaceFiles
from evalkit.metrics.classification import BucketAccuracy
from evalkit.presets import base_and_instruct, ranking_task

TASK = ranking_task(
    "fairface-age",
    "FairFace age (margin 0.25 images), accuracy and std of accuracy over race x gender buckets",
    FairFaceFiles(attribute="age"),
    base_and_instruct("Image:<image>Age: {answer}.\n", "How old is this person?", "{answer}.",
                      prefix="Task: Find the age of people in the pictures.\n"),
    BucketAccuracy(),
)
