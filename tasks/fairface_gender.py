"""FairFace gender: class names ranked by log-likelihood; accuracy and its std across race x gender buckets."""

from evalkit.presets import base_and_instruct, fairface_task
from evalkit.taskspec import OfficialSize

TASK = fairface_task("gender", base_and_instruct("Image:<image>a photo of a {answer} person.\n",
                                                "Describe this person.", "a photo of a {answer} person."),
                     OfficialSize(queries=10_954, example_tokens=14, choices=2, choice_tokens=4))
