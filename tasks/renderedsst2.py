"""Rendered SST-2: is the movie review written on the image positive or negative? Queries test
(1,821), support 512 drawn from train (m4's NewSplits sets, whose template 2 this is); 0 shots = the
bare query; `negative` / `positive` ranked by summed log-likelihood; accuracy."""

from evalkit.data.renderedsst2 import RenderedSST2Folders
from evalkit.metrics.classification import Accuracy
from evalkit.presets import base_and_instruct, ranking_task
from evalkit.taskspec import OfficialSize

TASK = ranking_task(
    "renderedsst2",
    "Rendered SST-2 test, accuracy of ranking negative / positive",
    RenderedSST2Folders(),
    base_and_instruct("Image:<image>Sentiment: {answer}.\n", "Is this movie review positive or negative?",
                      "{answer}.", prefix="Instruction: A movie review is written on an image. Say if it is "
                                          "positive or negative.\n"),
    Accuracy(top_k=()),
    support_size=512,
    zero_shot="none",
    published_name="RenderedSST2",
    official_size=OfficialSize(queries=1_821, example_tokens=12, choices=2, choice_tokens=3),
)
