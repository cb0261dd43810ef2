"""NoCaps (val): novel-object captioning; shots from COCO Karpathy train; CIDEr per domain and overall."""

from evalkit.data.captions import NoCapsFiles
from evalkit.presets import captioning_task
from evalkit.taskspec import OfficialSize

TASK = captioning_task(
    "nocaps",
    "NoCaps val captioning, CIDEr x100 overall and in/near/out-domain (pycocoevalcap)",
    NoCapsFiles(),
    published_name="NoCaps",
    official_size=OfficialSize(queries=4_500, example_tokens=25),
)
