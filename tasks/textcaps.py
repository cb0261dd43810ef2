"""TextCaps 0.1: captions that read the text in images; queries from val, shots from train."""

from evalkit.data.captions import TextCapsFiles
from evalkit.presets import captioning_task
from evalkit.taskspec import OfficialSize

TASK = captioning_task(
    "textcaps",
    "TextCaps val captioning, CIDEr x100 plus BLEU-4, METEOR, ROUGE-L (pycocoevalcap)",
    TextCapsFiles(),
    published_name="TextCaps",
    official_size=OfficialSize(queries=3_166, example_tokens=27),
)
