"""OK-VQA v1.1: knowledge questions on COCO images, scored against the stemmed answers."""

from evalkit.data.vqa import VQAFiles
from evalkit.metrics.okvqa_stem import stem_okvqa
from evalkit.metrics.vqa import VQAAccuracy
from evalkit.postprocess import vqa_answer
from evalkit.prompts.formats import vqa_templates
from evalkit.taskspec import GenerationSettings, OfficialSize, TaskSpec

TASK = TaskSpec(
    name="okvqa",
    description="OK-VQA v1.1, VQA accuracy against the stemmed answers (VQAv2 rules)",
    data=VQAFiles(
        questions="OpenEnded_mscoco_{split}_questions.json",
        annotations="mscoco_{split}_annotations.json",
        hf_splits={"support": "train", "query": "val2014"},
    ),
    templates=vqa_templates(),
    generation=GenerationSettings(max_new_tokens=15, num_beams=1),
    postprocess=vqa_answer,
    metric=VQAAccuracy("vqav2"),
    metric_variants={
        "vqav2+okvqa-stem": VQAAccuracy("vqav2", prediction_transform=stem_okvqa, transform_name="okvqa-stem"),
        "openflamingo": VQAAccuracy("openflamingo", prediction_transform=stem_okvqa, transform_name="okvqa-stem"),
    },
    published_name="OKVQA",
    official_size=OfficialSize(queries=5_046, example_tokens=26),
)
