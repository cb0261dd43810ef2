"""FairFace gender: class names ranked by log-likelihood; accuracy and its std across race x gender buckets."""

from evalkit.presets import base_and_instruct, fairface_task

TASK = fairface_task("gender", base_and_instruct("Image:<image>a photo of a {answer} person.\n",
                                                "Describe this person.", "a photo of a {answer} person."))
