"""The declaration types a task plugin is made of.

A plugin in `tasks/` builds one `TaskSpec` from these pieces; the pipeline stages read it and never
look at the task's name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Protocol, Sequence, get_args

from evalkit.types import Example

IMAGE = "<image>"
# Turn markers of the "chat-template" prompt format: an adapter replaces them with its model's own
# chat template (a user turn, an assistant turn, the end of either).
USER_TURN = "<|evalkit:user|>"
ASSISTANT_TURN = "<|evalkit:assistant|>"
END_OF_TURN = "<|evalkit:end|>"
TURN_MARKERS = (USER_TURN, ASSISTANT_TURN, END_OF_TURN)


@dataclass(frozen=True)
class PromptTemplate:
    """How one example is written in a prompt, for one model format.

    `example` holds `{field}` placeholders, `{answer}` and the image marker `<image>`.
    The query is `example` cut just before `{answer}` (trailing spaces dropped).
    `image_block` is the part of `example` removed when a demonstration is shown without
    its image (zero-shot "a la Flamingo").
    """

    example: str
    prefix: str = ""
    image_block: str = IMAGE
    stop_strings: tuple[str, ...] = ("\n",)

    def __post_init__(self) -> None:
        if "{answer}" not in self.example:
            raise ValueError("a template's example needs an {answer} placeholder")
        if self.image_block not in self.example:
            raise ValueError("a template's image_block must appear in its example")


# What to do with a prompt longer than the model's context (evalkit/prompts/context.py).
OverflowPolicy = Literal["error", "drop-shots"]
OVERFLOW_POLICIES: tuple[str, ...] = get_args(OverflowPolicy)


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings for open-ended generation."""

    max_new_tokens: int = 15
    num_beams: int = 1
    length_penalty: float = 1.0


class DataSource(Protocol):
    """Reads a benchmark's examples for a role ("support" or "query") from files or a HF dataset.
    `skips` (evalkit.data.skips.Skips) decides whether records the user may leave out are left out."""

    def describe(self) -> str: ...

    def split_name(self, role: str, hf: bool) -> str: ...

    def load(self, location: str | Path, role: str, split: str | None = None,
             skips: Any = None) -> list[Example]: ...


class Metric(Protocol):
    """Scores for a whole set of predictions: per sample and aggregated (corpus-level metrics such
    as CIDEr need the whole set). `variant` names the official rules applied."""

    name: str
    variant: str

    def score_all(self, predictions: Sequence[str], examples: Sequence[Example]) -> tuple[list[float], dict[str, Any]]: ...


def most_common_reference(example: Example) -> str:
    """The demo answer for VQA-style tasks: the most frequent reference, first seen wins ties."""
    counts = Counter(example.references)
    best = max(counts.values())
    return next(ref for ref in example.references if counts[ref] == best)


def random_reference(example: Example) -> str:
    """The demo caption: one of the references, chosen from the example's id (m4 picks at random;
    this is reproducible and independent of the run's other choices)."""
    import hashlib

    digest = hashlib.sha256(f"demo-caption/{example.id}".encode()).digest()
    return example.references[int.from_bytes(digest[:4], "big") % len(example.references)]


@dataclass(frozen=True)
class TaskSpec:
    """Everything the pipeline needs to know about one benchmark."""

    name: str
    description: str
    data: DataSource
    templates: dict[str, PromptTemplate]
    generation: GenerationSettings
    postprocess: Callable[[str, Sequence[str]], str]
    metric: Metric
    demo_answer: Callable[[Example], str] = most_common_reference
    support_size: int = 2048
    # "generate": open-ended answers; "rank": each example's `meta["choices"]` scored by log-likelihood
    # of the template's answer text, summed or averaged over tokens (`score_normalization`).
    mode: str = "generate"
    score_normalization: str = "sum"
    # Shot selection when the run does not choose one: "random" or "rices".
    shot_selection: str = "random"
    # Draw the support set per class (ImageNet "1K" = 1, "5K" = 5) instead of `support_size` in all.
    support_per_class: int | None = None
    # Other named metric variants (e.g. "openflamingo"), chosen with --metric-variant.
    metric_variants: dict[str, Metric] = field(default_factory=dict)
    # Keys of the official results format `[{id_key: ..., answer_key: ...}]` (`evalkit score`).
    prediction_keys: tuple[str, str] = ("question_id", "answer")
    # The benchmark's name in published tables (results/published/*.csv, e.g. "VQAv2"); reports use it
    # as the column label and to find the published number. Empty: the task's own name.
    published_name: str = ""
    # A prompt longer than the model's context: "error" (stop), or "drop-shots" (drop whole demos,
    # oldest first, counted) for tasks whose demos are long by nature; `--context-overflow` overrides.
    context_overflow: OverflowPolicy = "error"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.context_overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"context_overflow must be one of {', '.join(OVERFLOW_POLICIES)}")

    def metric_for(self, variant: str | None) -> Metric:
        """The default metric, or the named variant (its `variant` name or a key of metric_variants)."""
        from evalkit.errors import EvalkitError

        if variant is None or variant == self.metric.variant:
            return self.metric
        if variant not in self.metric_variants:
            known = ", ".join([self.metric.variant, *self.metric_variants])
            raise EvalkitError(f"task {self.name} has no metric variant {variant!r} (known: {known})",
                               field="--metric-variant")
        return self.metric_variants[variant]

    def template(self, prompt_format: str) -> PromptTemplate:
        from evalkit.errors import EvalkitError

        if prompt_format not in self.templates:
            known = ", ".join(sorted(self.templates))
            raise EvalkitError(
                f"task {self.name} has no prompt format {prompt_format!r} (known: {known})",
                field="--prompt-format",
            )
        return self.templates[prompt_format]
