"""The interface every model family implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from evalkit.taskspec import GenerationSettings
from evalkit.types import Prompt


@dataclass(frozen=True)
class Capabilities:
    generation: bool
    scoring: bool
    max_images: int | None


@dataclass(frozen=True)
class ContinuationScore:
    """Log-probability of one candidate continuation after a prompt.

    `prompt_total` / `prompt_tokens`: the log-probability of the prompt's own tokens (each predicted
    from those before it, the first token excepted) and their count, for scores over the whole
    sequence (m4's caption matching averages over every token); None where the adapter does not
    report them.
    """

    total: float
    mean: float
    num_tokens: int
    prompt_total: float | None = None
    prompt_tokens: int = 0


class ModelAdapter(Protocol):
    """What the runner needs from a model: generation, continuation scoring, its context length and
    how much of it a prompt takes (evalkit/prompts/context.py), and a description."""

    capabilities: Capabilities
    default_prompt_format: str
    choices_per_forward: int  # candidates scored in one forward; halved on out-of-memory

    @property
    def context_length(self) -> int | None:
        """Positions the model takes (max_position_embeddings); None when the config does not say."""
        ...

    def prompt_length(self, prompt: Prompt) -> int:
        """Positions `prompt` takes, through the adapter's own tokenizer and input path: images
        counted as the tokens they occupy in the sequence."""
        ...

    def continuation_ids(self, prompt: Prompt, continuations: Sequence[str]) -> list[list[int]]:
        """Each continuation's token ids after `prompt`, as they are scored."""
        ...

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings,
                 stop_strings: Sequence[str]) -> list[str]: ...

    def score_continuations(self, prompt: Prompt, continuations: Sequence[str], chunk_size: int | None = None,
                            with_prompt: bool = False) -> list[ContinuationScore]:
        """Each continuation's log-probability after `prompt`; `with_prompt`: also the prompt's own
        (`ContinuationScore.prompt_total`), or a one-line error where the adapter cannot."""
        ...

    def describe(self) -> dict[str, Any]: ...


def context_length(config: Any) -> int | None:
    """A model config's max_position_embeddings (its text model's, for a composite config)."""
    for holder in (getattr(config, "text_config", None), config):
        value = getattr(holder, "max_position_embeddings", None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
