"""VisDial v1.0 (NDCG): the densely annotated round of each val dialog (2,064), history = the caption
and the earlier rounds, the round's 100 answer options ranked by summed log-likelihood; shots are
train dialogs (rounds 1-9 as history, round 10's answer as the label); 0 shots = the bare query.
Prompt: m4's template 1 (`<image>{caption}. Question: q? Answer: a. ... Question: q? Answer: a.`).
Metric: the official NDCG@k (k = relevant options per round); `m4`: m4's whole-list NDCG, what the
IDEFICS card most likely reports. 8 shots of 10-round dialogs can run past a model's context: whole
shots are then dropped, oldest first, and counted per query (`context_overflow`)."""

from evalkit.data.visdial import VisDialFiles
from evalkit.metrics.ndcg import NDCG
from evalkit.presets import base_and_instruct, ranking_task
from evalkit.taskspec import OfficialSize

TASK = ranking_task(
    "visdial",
    "VisDial v1.0 val, dense round of each dialog: official NDCG@k over the 100 answer options (m4: whole-list)",
    VisDialFiles(),
    base_and_instruct("<image>{caption}. {context} {answer}.", "{caption}. {context}", "{answer}.",
                      image_block="<image>"),
    NDCG(),
    metric_variants={"m4": NDCG(variant="m4")},
    zero_shot="none",
    context_overflow="drop-shots",
    published_name="VisDial",
    official_size=OfficialSize(queries=2_064, example_tokens=200, choices=100, choice_tokens=5),
)
