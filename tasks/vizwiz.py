"""VizWiz-VQA: questions from blind users' photos, some unanswerable; support train, queries val."""

from evalkit.data.vizwiz import VizWizFiles
from evalkit.metrics.vqa import VQAAccuracy
from evalkit.postprocess import vqa_answer
from evalkit.prompts.formats import VIZWIZ_INSTRUCTION, vqa_templates
from evalkit.taskspec import GenerationSettings, OfficialSize, TaskSpec

TASK = TaskSpec(
    name="vizwiz",
    description="VizWiz-VQA, VQA accuracy (official VizWiz rules) plus unanswerable AP and F1",
    data=VizWizFiles(),
    templates=vqa_templates(VIZWIZ_INSTRUCTION, instruct_prefix=VIZWIZ_INSTRUCTION),
    generation=GenerationSettings(max_new_tokens=15, num_beams=1),
    postprocess=vqa_answer,
    metric=VQAAccuracy("vizwiz", with_answerability=True),
    metric_variants={"openflamingo": VQAAccuracy("openflamingo", with_answerability=True)},
    prediction_keys=("image", "answer"),
    published_name="VizWiz",
    official_size=OfficialSize(queries=4_319, example_tokens=26),
)
