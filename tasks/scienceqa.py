"""ScienceQA test-IMG (2,017 questions with an image): hint, question and lettered choices in the
prompt (m4's "old setup" template 1), the question's own letters ranked by summed log-likelihood;
shots from train-IMG show their solution after the answer, the query does not; 0 shots = the bare
query. Accuracy with the official breakdowns that apply (subject, grade band, text context).
`m4`: every query ranks A to E, as m4 did, whatever its number of choices."""

from evalkit.data.scienceqa import ScienceQAFiles
from evalkit.metrics.classification import Accuracy
from evalkit.presets import base_and_instruct, ranking_task
from evalkit.taskspec import OfficialSize, Variant

QUESTION = "{hint_line}Question: {question}\nChoose the best answer among:\n{choice_lines}"
BREAKDOWNS = ("subject", "grade_band", "context")

TASK = ranking_task(
    "scienceqa",
    "ScienceQA test questions with an image, accuracy over the question's own letters (m4: always A-E)",
    ScienceQAFiles(),
    base_and_instruct(f"<image>{QUESTION}Answer: The best answer is {{answer}}.", QUESTION,
                      "The best answer is {answer}.", image_block="<image>", demo_suffix=" {solution}"),
    Accuracy(variant="own-letters", top_k=(), breakdowns=BREAKDOWNS,
             published_note="m4 ranked A to E for every question (--metric-variant m4)"),
    metric_variants={"m4": Variant(Accuracy(variant="m4", top_k=(), breakdowns=BREAKDOWNS), choices="choices_a_to_e")},
    zero_shot="none",
    published_name="ScienceQA",
    official_size=OfficialSize(queries=2_017, example_tokens=160, choices=5, choice_tokens=2),
)
