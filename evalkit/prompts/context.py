"""Prompts that fit the model's context: never scored as if they fitted when they do not.

A prompt plus the room its answer needs (the generation's `max_new_tokens`, or a ranked choice's
longest continuation) must fit the model's context (the adapter's `context_length`, its config's
max_position_embeddings). Lengths are the adapter's own count (`prompt_length`: its tokenizer and
input path, each image counted as the tokens it occupies in the sequence). When a prompt is too long,
the policy decides:

- `error`: the run stops with a one-line error naming the query and the lengths. The default for
  the built-in tasks: a k-shot number must come from k shots.
- `drop-shots`: whole demonstrations are dropped, oldest (first) first, until it fits; never a cut
  through a demo or an image. Each query's count of dropped demos goes to its line in samples.jsonl
  (`dropped_shots`), the setting's totals to results.json (`context_overflow`), and the tables mark
  the cell. For tasks whose demos are long by nature (dialogue histories).

The policy is the task's `TaskSpec.context_overflow`, or the run's `--context-overflow`. The whole
interface, for stages and task plugins:

    budget = ContextBudget(adapter.prompt_length, adapter.context_length, policy, where="vqav2 4 shots")
    room = answer_room(task.mode, settings.max_new_tokens, template, adapter.continuation_ids)
    fitted = budget.fit(template, demos, query, room(query))   # -> FittedPrompt(prompt, demos, dropped)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from evalkit.errors import EvalkitError
from evalkit.prompts.builder import Demo, build_prompt, render_continuation, render_query
from evalkit.taskspec import OverflowPolicy, PromptTemplate
from evalkit.types import Example, Prompt


@dataclass(frozen=True)
class FittedPrompt:
    prompt: Prompt
    demos: list[Demo]  # the demos kept, in order
    dropped: int  # demos dropped from the front


@dataclass(frozen=True)
class ContextBudget:
    """How long a prompt may be, and what to do when one is longer. `limit` None: no known limit."""

    length: Callable[[Prompt], int]
    limit: int | None
    policy: OverflowPolicy = "error"
    where: str = ""  # the setting, for messages (task, shots, seed)

    def fit(self, template: PromptTemplate, demos: Sequence[Demo], query: Example, room: int) -> FittedPrompt:
        """The prompt with every demo when it fits (prompt + `room` tokens <= limit); else per policy."""
        full = build_prompt(template, demos, query)
        if self.limit is None:
            return FittedPrompt(full, list(demos), 0)
        available = self.limit - room
        length = self.length(full)
        if length <= available:
            return FittedPrompt(full, list(demos), 0)
        if self.policy == "error":
            raise self._error(query, "the prompt", length, room, "; --context-overflow drop-shots drops whole "
                                                                 "demos (oldest first) instead")
        bare_length = self.length(build_prompt(template, [], query))
        if bare_length > available:
            raise self._error(query, "even without demos, the prompt", bare_length, room, "")
        # The fewest demos dropped from the front that fit: a prompt only gets shorter as more go.
        low, high = 1, len(demos)
        while low < high:
            middle = (low + high) // 2
            if self.length(build_prompt(template, demos[middle:], query)) <= available:
                high = middle
            else:
                low = middle + 1
        kept = list(demos[low:])
        return FittedPrompt(build_prompt(template, kept, query), kept, low)

    def _error(self, query: Example, what: str, length: int, room: int, advice: str) -> EvalkitError:
        return EvalkitError(f"{self.where}, query {query.id}: {what} takes {length:,} tokens (+ {room:,} for the "
                            f"answer), over the model's context of {self.limit:,}{advice}", field="--context-overflow")


def answer_room(mode: str, max_new_tokens: int, template: PromptTemplate,
                continuation_ids: Callable[[Prompt, Sequence[str]], list[list[int]]],
                choices_key: str = "choices") -> Callable[[Example], int]:
    """Tokens a query's answer may take after its prompt: the generation's `max_new_tokens`, or in a
    ranking task the longest of the query's choices (`meta[choices_key]`) as they are scored (worked
    out once per query text and set of choices: ImageNet's 1,000 class names once)."""
    if mode != "rank":
        return lambda query: max_new_tokens
    known: dict[tuple, int] = {}

    def room(query: Example) -> int:
        tail = render_query(template, query)
        choices = tuple(dict.fromkeys(query.meta[choices_key]))
        key = (tail[-1] if tail and isinstance(tail[-1], str) else "", choices)
        if key not in known:
            continuations = [render_continuation(template, choice) for choice in choices]
            known[key] = max(len(ids) for ids in continuation_ids(tail, continuations))
        return known[key]

    return room
