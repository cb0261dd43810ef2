"""Interleaved prompts: text pieces and images in reading order.

The same builder serves every task and every model format: the task's `PromptTemplate` for the
chosen format says how an example is written; the builder only fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from evalkit.taskspec import IMAGE, PromptTemplate
from evalkit.types import Example, ImageSource, Prompt


@dataclass(frozen=True)
class Demo:
    example: Example
    answer: str
    show_image: bool = True


def _fill(text: str, example: Example, answer: str | None) -> str:
    values = dict(example.fields)
    if answer is not None:
        values["answer"] = answer
    return text.format_map(values)


def _split_on_image(text: str, image: ImageSource | None) -> Prompt:
    if IMAGE not in text:
        return [text]
    before, after = text.split(IMAGE, 1)
    return [before, image, after] if image is not None else [before + after]


def render_example(template: PromptTemplate, demo: Demo) -> Prompt:
    text = template.example + template.demo_suffix
    if not demo.show_image:
        text = text.replace(template.image_block, "", 1)
    return _split_on_image(_fill(text, demo.example, demo.answer), demo.example.image if demo.show_image else None)


def render_query(template: PromptTemplate, query: Example) -> Prompt:
    head = template.example[: template.example.index("{answer}")].rstrip(" ")
    return _split_on_image(_fill(head, query, None), query.image)


def render_continuation(template: PromptTemplate, answer: str) -> str:
    """What follows a query for a candidate answer: the template from the answer on (its leading
    space included), without the example's final newline."""
    head = template.example[: template.example.index("{answer}")]
    tail = template.example[len(head.rstrip(" ")):]
    return tail.format_map({"answer": answer}).rstrip("\n")


def merge_text(segments: Sequence[object]) -> Prompt:
    """Adjacent strings joined and empty ones dropped, so each image sits between two texts at most."""
    merged: Prompt = []
    for segment in segments:
        if isinstance(segment, str):
            if not segment:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] += segment
                continue
        merged.append(segment)  # type: ignore[arg-type]
    return merged


def build_sequence(template: PromptTemplate, demos: Sequence[Demo]) -> Prompt:
    """The prefix and the demos, each with its answer (a training sequence, or a prompt's context)."""
    segments: list[object] = [template.prefix]
    for demo in demos:
        segments.extend(render_example(template, demo))
    return merge_text(segments)


def build_prompt(template: PromptTemplate, demos: Sequence[Demo], query: Example) -> Prompt:
    """The demos, then the query cut just before its answer."""
    return merge_text([*build_sequence(template, demos), *render_query(template, query)])


def image_views(example: Example) -> list[Example]:
    """The example once per image (`Example.images`): view j shows image j and has reference j as its
    gold answer. A one-image example is its only view."""
    if not example.images:
        return [example]
    return [replace(example, image=image, references=[example.references[j]], images=())
            for j, image in enumerate(example.images)]


def query_prompts(template: PromptTemplate, demos: Sequence[Demo], query: Example,
                  per_image: bool) -> list[Prompt]:
    """The query's prompts: one, or one per image of the query when the task scores each image."""
    return [build_prompt(template, demos, view) for view in (image_views(query) if per_image else [query])]


def prompt_text(prompt: Prompt) -> str:
    """The prompt as text, each image written as `<image>` (what samples.jsonl records)."""
    return "".join(segment if isinstance(segment, str) else IMAGE for segment in prompt)


def prompt_images(prompt: Prompt) -> list[ImageSource]:
    return [segment for segment in prompt if not isinstance(segment, str)]
