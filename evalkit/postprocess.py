"""Answer extraction: from a raw generation to the answer that is scored."""

from __future__ import annotations

import re
from typing import Sequence


def cut_at_stop_strings(text: str, stop_strings: Sequence[str]) -> str:
    """Everything before the first stop string."""
    end = len(text)
    for stop in stop_strings:
        position = text.find(stop)
        if position != -1:
            end = min(end, position)
    return text[:end]


# Words that start the next example in VQA templates (base, instruct and OpenFlamingo formats).
VQA_MARKERS = ("Question", "Answer", "Short", "Image", "User", "Assistant", "<end_of_utterance>", "\n")


def vqa_answer(generation: str, stop_strings: Sequence[str] = ()) -> str:
    """Cut at the next example's marker (or the template's stop strings), then at the first ', '."""
    answer = cut_at_stop_strings(generation, tuple(stop_strings) + VQA_MARKERS)
    answer = re.split(", ", answer, maxsplit=1)[0]
    return answer.strip()


CAPTION_MARKERS = ("Caption:", "Image:", "User:", "Assistant:", "<end_of_utterance>", "\n")


def caption_answer(generation: str, stop_strings: Sequence[str] = ()) -> str:
    """Cut at the next example's marker, then strip spaces and surrounding quotes."""
    caption = cut_at_stop_strings(generation, tuple(stop_strings) + CAPTION_MARKERS)
    return caption.strip().strip('"\'').strip()
