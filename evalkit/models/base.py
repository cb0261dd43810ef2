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
    """Log-probability of one candidate continuation after a prompt."""

    total: float
    mean: float
    num_tokens: int


class ModelAdapter(Protocol):
    """What the runner needs from a model: generation, continuation scoring, and a description."""

    capabilities: Capabilities
    default_prompt_format: str
    choices_per_forward: int  # candidates scored in one forward; halved on out-of-memory

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings,
                 stop_strings: Sequence[str]) -> list[str]: ...

    def score_continuations(self, prompt: Prompt, continuations: Sequence[str],
                            chunk_size: int | None = None) -> list[ContinuationScore]: ...

    def describe(self) -> dict[str, Any]: ...
