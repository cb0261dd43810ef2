"""Prompts of the chat-template format as chat messages (`<|evalkit:user|>`... markers, see
evalkit/prompts/formats.py), rendered with the processor's own chat template."""

from __future__ import annotations

import re
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.taskspec import ASSISTANT_TURN, END_OF_TURN, TURN_MARKERS, USER_TURN
from evalkit.types import ImageSource, Prompt

_MARKER = re.compile("(" + "|".join(re.escape(marker) for marker in TURN_MARKERS) + ")")
# Stands for the text a model is to write in an open assistant turn (see `render`).
_SENTINEL = "\u2063EVALKIT\u2063"


def has_turns(prompt: Prompt) -> bool:
    return any(isinstance(segment, str) and USER_TURN in segment for segment in prompt)


def to_messages(prompt: Prompt) -> tuple[list[dict[str, Any]], str | None, list[ImageSource]]:
    """The closed turns as messages (`{"role", "content": [{"type": "image"} | {"type": "text"}]}`),
    the text of a last assistant turn left open (None when the prompt ends with a closed turn), and
    the images in order. Text before the first turn opens the first user turn (a task's prefix)."""
    messages: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    images: list[ImageSource] = []
    role: str | None = None
    for segment in prompt:
        if not isinstance(segment, str):
            images.append(segment)
            (messages[-1]["content"] if role else pending).append({"type": "image"})
            continue
        for piece in _MARKER.split(segment):
            if piece in (USER_TURN, ASSISTANT_TURN):
                messages.append({"role": "user" if piece == USER_TURN else "assistant", "content": pending})
                pending, role = [], messages[-1]["role"]
            elif piece == END_OF_TURN:
                role = None
            elif piece:
                (messages[-1]["content"] if role else pending).append({"type": "text", "text": piece})
    if role != "assistant":
        return messages, None, images
    open_turn = messages.pop()
    return messages, "".join(item["text"] for item in open_turn["content"] if item["type"] == "text"), images


def render(processor: Any, prompt: Prompt, system: str | None = None) -> tuple[str, list[ImageSource]]:
    """The prompt's text through the processor's chat template, and its images; `system` (--system-prompt)
    is a system message before the first turn.

    An open assistant turn becomes the template's generation prompt; when it already holds text (a
    ranking template's `a photo of a {answer}`), that text is rendered inside the assistant turn."""
    if not getattr(processor, "chat_template", None):
        raise EvalkitError("the model's processor has no chat template: use --prompt-format idefics or "
                           "openflamingo (plain interleaved text)", field="--prompt-format")
    messages, open_text, images = to_messages(prompt)
    if system:
        messages.insert(0, {"role": "system", "content": [{"type": "text", "text": system}]})
    if open_text is None:
        return processor.apply_chat_template(messages, tokenize=False), images
    if not open_text.strip():
        return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False), images
    turn = {"role": "assistant", "content": [{"type": "text", "text": open_text + _SENTINEL}]}
    text = processor.apply_chat_template([*messages, turn], tokenize=False)
    return text[: text.index(_SENTINEL)], images


def end_of_turn(processor: Any) -> str:
    """What the chat template writes after an assistant's text (e.g. `<end_of_utterance>`), spaces
    stripped: where an answer ends."""
    messages = [{"role": "user", "content": [{"type": "text", "text": "q"}]},
                {"role": "assistant", "content": [{"type": "text", "text": _SENTINEL}]}]
    text = processor.apply_chat_template(messages, tokenize=False)
    return text[text.index(_SENTINEL) + len(_SENTINEL):].strip()
