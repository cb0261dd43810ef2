"""Prompt templates shared by several tasks, per model format (m4's IDEFICS templates)."""

from __future__ import annotations

from evalkit.taskspec import PromptTemplate

IDEFICS = "idefics"
IDEFICS_INSTRUCT = "idefics-instruct"

VQA_INSTRUCTION = "Instruction: provide an answer to the question. Use the image to answer.\n"


def vqa_templates(instruction: str = VQA_INSTRUCTION) -> dict[str, PromptTemplate]:
    """Open-ended VQA: `Image:<image>Question: q Answer: a` (base) or a User/Assistant turn (instruct)."""
    return {
        IDEFICS: PromptTemplate(
            prefix=instruction,
            example="Image:<image>Question: {question} Answer: {answer}\n",
            image_block="Image:<image>",
            stop_strings=("\n", "Question", "Image:"),
        ),
        IDEFICS_INSTRUCT: PromptTemplate(
            example="User:<image>{question}<end_of_utterance>\nAssistant: {answer}<end_of_utterance>\n",
            image_block="<image>",
            stop_strings=("<end_of_utterance>", "\n", "User:"),
        ),
    }
