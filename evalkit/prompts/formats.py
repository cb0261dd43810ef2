"""Prompt templates shared by several tasks, per model format.

`idefics` and `idefics-instruct` are m4's IDEFICS templates; `openflamingo` is OpenFlamingo's
(`<image>Question:q Short answer:a<|endofchunk|>`); `chat-template` writes each example as a user
turn and an assistant turn that the model's own chat template renders (see evalkit/models/chat.py).
"""

from __future__ import annotations

from evalkit.taskspec import ASSISTANT_TURN, END_OF_TURN, IMAGE, USER_TURN, PromptTemplate

IDEFICS = "idefics"
IDEFICS_INSTRUCT = "idefics-instruct"
OPENFLAMINGO = "openflamingo"
CHAT = "chat-template"
# The formats of the embedded model's tokenizer corpus (evalkit.assets.tokenizer_corpus).
IDEFICS_FORMATS = (IDEFICS, IDEFICS_INSTRUCT)

END_OF_CHUNK = "<|endofchunk|>"
VQA_INSTRUCTION = "Instruction: provide an answer to the question. Use the image to answer.\n"
SHORT_ANSWER_REQUEST = "Answer with a single word or phrase."


VIZWIZ_INSTRUCTION = "Task: Answer the questions based on the image when possible, otherwise say unanswerable.\n"


def chat_template(user: str, answer: str = "{answer}", prefix: str = "",
                  stop_strings: tuple[str, ...] = ("\n",)) -> PromptTemplate:
    """One user turn (the image, then `user`) and one assistant turn (`answer`); `prefix` opens the
    first user turn."""
    return PromptTemplate(prefix=prefix, example=f"{USER_TURN}{IMAGE}{user}{END_OF_TURN}{ASSISTANT_TURN}{answer}{END_OF_TURN}",
                          image_block=IMAGE, stop_strings=stop_strings)


def openflamingo_template(text: str, stop_strings: tuple[str, ...] = (END_OF_CHUNK, "\n")) -> PromptTemplate:
    """`<image>` + text (with `{answer}`) + `<|endofchunk|>`, OpenFlamingo's example."""
    return PromptTemplate(example=f"{IMAGE}{text}{END_OF_CHUNK}", image_block=IMAGE, stop_strings=stop_strings)


def vqa_templates(instruction: str = VQA_INSTRUCTION, instruct_prefix: str = "") -> dict[str, PromptTemplate]:
    """Open-ended VQA: `Image:<image>Question: q Answer: a` (base) or a User/Assistant turn (instruct)."""
    return {
        IDEFICS: PromptTemplate(
            prefix=instruction,
            example="Image:<image>Question: {question} Answer: {answer}\n",
            image_block="Image:<image>",
            stop_strings=("\n", "Question", "Image:"),
        ),
        IDEFICS_INSTRUCT: PromptTemplate(
            prefix=instruct_prefix,
            example="User:<image>{question}<end_of_utterance>\nAssistant: {answer}<end_of_utterance>\n",
            image_block="<image>",
            stop_strings=("<end_of_utterance>", "\n", "User:"),
        ),
        OPENFLAMINGO: openflamingo_template("Question:{question} Short answer:{answer}",
                                            stop_strings=(END_OF_CHUNK, "\n", "Question", "Short")),
        CHAT: chat_template(f"{{question}}\n{SHORT_ANSWER_REQUEST}", prefix=instruct_prefix),
    }


def with_ocr_tokens(templates: dict[str, PromptTemplate]) -> dict[str, PromptTemplate]:
    """Adds `<format>-ocr` variants that show each example's OCR tokens before its question."""
    extra = {}
    for name, template in templates.items():
        markers = [m for m in ("Question: {question}", "Question:{question}") if m in template.example]
        marker = markers[0] if markers else "{question}"
        example = template.example.replace(marker, "OCR: {ocr_tokens}\n" + marker, 1)
        extra[f"{name}-ocr"] = PromptTemplate(example=example, prefix=template.prefix,
                                              image_block=template.image_block, stop_strings=template.stop_strings)
    return {**templates, **extra}


CAPTION_REQUEST = "Describe the image briefly."


def caption_templates() -> dict[str, PromptTemplate]:
    """Captioning: `Image:<image>Caption: c` (base) or a User/Assistant turn asking for a caption."""
    return {
        IDEFICS: PromptTemplate(
            example="Image:<image>Caption: {answer}\n",
            image_block="Image:<image>",
            stop_strings=("\n", "Caption:", "Image:"),
        ),
        IDEFICS_INSTRUCT: PromptTemplate(
            example=f"User:<image>{CAPTION_REQUEST}<end_of_utterance>\nAssistant: {{answer}}<end_of_utterance>\n",
            image_block="<image>",
            stop_strings=("<end_of_utterance>", "\n", "User:"),
        ),
        OPENFLAMINGO: openflamingo_template("Output:{answer}", stop_strings=(END_OF_CHUNK, "\n", "Output:")),
        CHAT: chat_template(CAPTION_REQUEST),
    }
