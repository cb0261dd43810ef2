"""FairFace age (9 buckets): class names ranked by log-likelihood; accuracy and its std across buckets."""

from evalkit.presets import base_and_instruct, fairface_task
from evalkit.taskspec import OfficialSize

TASK = fairface_task("age", base_and_instruct("Image:<image>Age: {answer}.\n", "How old is this person?", "{answer}.",
                                              prefix="Task: Find the age of people in the pictures.\n"),
                     OfficialSize(queries=10_954, example_tokens=18, choices=9, choice_tokens=6))
