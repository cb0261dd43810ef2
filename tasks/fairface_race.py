"""FairFace race: class names ranked by log-likelihood; accuracy and its std across race x gender buckets."""

from evalkit.presets import base_and_instruct, fairface_task
from evalkit.taskspec import OfficialSize

TASK = fairface_task("race", base_and_instruct("Image:<image>a photo of a {answer} person.\n",
                                                "Describe this person.", "a photo of a {answer} person."),
                     OfficialSize(queries=10_954, example_tokens=15, choices=7, choice_tokens=5))
