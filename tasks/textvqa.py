"""TextVQA 0.5.1: questions about text in images; support from train, queries from val."""

from evalkit.data.textvqa import TextVQAFiles
from evalkit.metrics.vqa import VQAAccuracy
from evalkit.postprocess import vqa_answer
from evalkit.prompts.formats import vqa_templates, with_ocr_tokens
from evalkit.taskspec import GenerationSettings, OfficialSize, TaskSpec

TASK = TaskSpec(
    name="textvqa",
    description="TextVQA 0.5.1, VQA accuracy (official TextVQA rules); *-ocr prompt formats add OCR tokens",
    data=TextVQAFiles(),
    templates=with_ocr_tokens(vqa_templates()),
    generation=GenerationSettings(max_new_tokens=15, num_beams=1),
    postprocess=vqa_answer,
    metric=VQAAccuracy("textvqa"),
    metric_variants={"openflamingo": VQAAccuracy("openflamingo")},
    published_name="TextVQA",
    official_size=OfficialSize(queries=5_000, example_tokens=26),
)
