"""Hateful Memes: is the meme hateful? Support train, queries dev_seen (or test_seen); ROC-AUC of P(yes)."""

from evalkit.data.classification import HatefulMemesFiles
from evalkit.metrics.classification import RocAuc
from evalkit.presets import base_and_instruct, ranking_task
from evalkit.taskspec import OfficialSize

QUESTION = 'is an image with written "{text}" on it. Is it hateful?'

TASK = ranking_task(
    "hatefulmemes",
    "Hateful Memes, ROC-AUC of P(yes) = softmax of the yes/no log-likelihoods, plus accuracy",
    HatefulMemesFiles(),
    base_and_instruct(f"Image:<image>{QUESTION} Answer: {{answer}}\n", QUESTION, "{answer}",
                      openflamingo="is an image with: '{text}' written on it. Is it hateful? Answer:{answer}"),
    RocAuc(),
    published_name="HatefulMemes",
    official_size=OfficialSize(queries=500, example_tokens=41, choices=2, choice_tokens=2),
)
