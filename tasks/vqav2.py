"""VQAv2: open-ended questions on COCO images; support from train2014, queries from val2014."""

from evalkit.data.vqa import VQAFiles
from evalkit.metrics.vqa import VQAAccuracy
from evalkit.postprocess import vqa_answer
from evalkit.prompts.formats import vqa_templates
from evalkit.taskspec import GenerationSettings, OfficialSize, TaskSpec

TASK = TaskSpec(
    name="vqav2",
    description="VQAv2 open-ended VQA, VQA accuracy (official rules) with answer-type breakdown",
    data=VQAFiles(),
    templates=vqa_templates(),
    generation=GenerationSettings(max_new_tokens=15, num_beams=1),
    postprocess=vqa_answer,
    metric=VQAAccuracy("vqav2"),
    metric_variants={"openflamingo": VQAAccuracy("openflamingo")},
    published_name="VQAv2",
    official_size=OfficialSize(queries=214_354, example_tokens=24),
)
