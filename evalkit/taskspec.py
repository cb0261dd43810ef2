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
    `demo_suffix` follows the example's text in demonstrations only, never in the query (ScienceQA's
    solution, which m4 shows for the shots and removes for the question asked).
    """

    example: str
    prefix: str = ""
    image_block: str = IMAGE
    stop_strings: tuple[str, ...] = ("\n",)
    demo_suffix: str = ""

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


MODES = ("generate", "rank")
# How a ranked candidate is scored from its tokens' log-probabilities: their sum, their mean, or the
# mean over every token of the whole sequence, prompt included (m4's caption matching).
NORMALIZATIONS = ("sum", "mean", "sequence-mean")
ZERO_SHOT_STYLES = ("flamingo", "none")


@dataclass(frozen=True)
class Variant:
    """A named protocol variant (`--metric-variant NAME`) of a ranking task that changes more than the
    metric: which of each example's candidate lists is ranked (a key of `Example.meta`, e.g. m4's
    A-to-E letters for ScienceQA) and how a candidate is scored (None: the run's or task's choice)."""

    metric: Metric
    choices: str = "choices"
    normalization: str | None = None

    def __post_init__(self) -> None:
        if self.normalization not in (None, *NORMALIZATIONS):
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}")


@dataclass(frozen=True)
class OfficialSize:
    """The benchmark's query split as the published numbers used it, for plans made without the data
    (`evalkit reproduce --dry-run`): its size, and rough typical lengths in tokens of the LLaMA
    tokenizer (IDEFICS's), from the benchmark's published length statistics: one example with its
    answer (template text and image marker included), and one ranked candidate."""

    queries: int
    example_tokens: int
    choices: int = 0  # candidates ranked per prompt (mean); 0 for generation
    choice_tokens: int = 0
    images: int = 1  # images per example


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
    # Ranking: one prompt per image of the example (`Example.images`), each scoring every choice; the
    # prediction is then a table, one {choice: score} per image (Winoground's captions x images).
    prompt_per_image: bool = False
    # 0 shots as the benchmark's protocol has it, whatever the run's --zero-shot: "none" (the bare
    # query) or "flamingo" (2 text-only demos); None: the run's choice.
    zero_shot: str | None = None
    # The most shots the protocol allows; 0: zero-shot only, no support split is read (Winoground).
    # A run's larger shot counts are left out for this task, and results.json lists them.
    max_shots: int | None = None
    # Shot selection when the run does not choose one: "random" or "rices".
    shot_selection: str = "random"
    # Draw the support set per class (ImageNet "1K" = 1, "5K" = 5) instead of `support_size` in all.
    support_per_class: int | None = None
    # Other named metric variants (e.g. "openflamingo"), chosen with --metric-variant; a `Variant`
    # where the variant also changes what is ranked or how it is scored.
    metric_variants: dict[str, Metric | Variant] = field(default_factory=dict)
    # Keys of the official results format `[{id_key: ..., answer_key: ...}]` (`evalkit score`).
    prediction_keys: tuple[str, str] = ("question_id", "answer")
    # The benchmark's name in published tables (results/published/*.csv, e.g. "VQAv2"); reports use it
    # as the column label and to find the published number. Empty: the task's own name.
    published_name: str = ""
    # A prompt longer than the model's context: "error" (stop), or "drop-shots" (drop whole demos,
    # oldest first, counted) for tasks whose demos are long by nature; `--context-overflow` overrides.
    context_overflow: OverflowPolicy = "error"
    # The official query split's size and typical lengths (plans without the data).
    official_size: OfficialSize | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"task {self.name}: mode must be one of {', '.join(MODES)}")
        if self.score_normalization not in NORMALIZATIONS:
            raise ValueError(f"task {self.name}: score_normalization must be one of {', '.join(NORMALIZATIONS)}")
        if self.zero_shot not in (None, *ZERO_SHOT_STYLES):
            raise ValueError(f"task {self.name}: zero_shot must be one of {', '.join(ZERO_SHOT_STYLES)}")
        if self.prompt_per_image and self.mode != "rank":
            raise ValueError(f"task {self.name}: prompt_per_image needs mode='rank'")
        if self.context_overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"task {self.name}: context_overflow must be one of {', '.join(OVERFLOW_POLICIES)}")

    def variant_for(self, variant: str | None) -> Variant:
        """The default protocol, or the named variant (its metric's `variant` name or a key of
        metric_variants)."""
        from evalkit.errors import EvalkitError

        if variant is None or variant == self.metric.variant:
            return Variant(self.metric)
        if variant not in self.metric_variants:
            known = ", ".join([self.metric.variant, *self.metric_variants])
            raise EvalkitError(f"task {self.name} has no metric variant {variant!r} (known: {known})",
                               field="--metric-variant")
        chosen = self.metric_variants[variant]
        return chosen if isinstance(chosen, Variant) else Variant(chosen)

    def metric_for(self, variant: str | None) -> Metric:
        """The default metric, or the named variant's."""
        return self.variant_for(variant).metric

    def allowed_shots(self, shots: Sequence[int]) -> list[int]:
        """The shot counts of `shots` that this task's protocol allows (see `max_shots`)."""
        return [k for k in shots if self.max_shots is None or k <= self.max_shots]

    def template(self, prompt_format: str) -> PromptTemplate:
        from evalkit.errors import EvalkitError

        if prompt_format not in self.templates:
            known = ", ".join(sorted(self.templates))
            raise EvalkitError(
                f"task {self.name} has no prompt format {prompt_format!r} (known: {known})",
                field="--prompt-format",
            )
        return self.templates[prompt_format]
