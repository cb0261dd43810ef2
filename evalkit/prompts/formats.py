"""Prompt templates shared by several tasks, per model format (m4's IDEFICS templates)."""

from __future__ import annotations

from evalkit.taskspec import PromptTemplate

IDEFICS = "idefics"
IDEFICS_INSTRUCT = "idefics-instruct"

VQA_INSTRUCTION = "Instruction: provide an answer to the question. Use the image to answer.\n"


VIZWIZ_INSTRUCTION = "Task: Answer the questions based on the image when possible, otherwise say unanswerable.\n"


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
    }


def with_ocr_tokens(templates: dict[str, PromptTemplate]) -> dict[str, PromptTemplate]:
    """Adds `<format>-ocr` variants that show each example's OCR tokens before its question."""
    extra = {}
    for name, template in templates.items():
        marker = "Question: {question}" if "Question: {question}" in template.example else "{question}"
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
    }
