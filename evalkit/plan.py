"""What a run will cost, before any model is loaded: per cell (task, shots, seed) the queries, prompts,
images, prompt and candidate tokens, forward passes, and GPU-hours at a throughput (`evalkit reproduce
--dry-run`).

With the data at hand every prompt is built as the run builds it (random shots stand in for RICES
ones: same sizes on average) and its text counted with the model's tokenizer, each distinct text piece
once; IDEFICS writes an image as 3 tokens around it. Without the data, the plugin's `official_size`
gives the query count and typical lengths, and the row says it is an estimate.

Forward passes: a ranked prompt is encoded once, then its candidates go `choices_per_forward` at a
time; generation runs one forward per batch for the prompt and one per new token (at most
max_new_tokens). GPU-hours = (prompt + candidate + generated tokens) / throughput (tokens per second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from evalkit.data.skips import Skips
from evalkit.prompts.builder import query_prompts, render_continuation
from evalkit.run.config import FLAMINGO_TEXT_DEMOS, RunConfig
from evalkit.shots.random_shots import RandomShots, support_set
from evalkit.run.task_settings import TaskSettings, load_task_data, resolve_settings, setting_demos
from evalkit.taskspec import TaskSpec
from evalkit.types import Example, Prompt

IMAGE_TOKENS = 3  # <fake_token_around_image><image><fake_token_around_image>
CHOICES_PER_FORWARD = 256  # IdeficsAdapter.choices_per_forward
CHARACTERS_PER_TOKEN = 4  # the estimate when no tokenizer can be loaded


@dataclass
class CellPlan:
    group: str
    task: str
    mode: str  # the task's: "generate" or "rank"
    shots: int
    seeds: int
    queries: int = 0
    prompts: int = 0
    images: int = 0
    prompt_tokens: int = 0
    candidate_tokens: int = 0
    new_tokens: int = 0  # generated tokens, at most
    forward_passes: int = 0
    estimated: bool = False  # no data: the plugin's official size and typical lengths

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.candidate_tokens + self.new_tokens


class TokenCounter:
    """Token counts of text pieces with the model's tokenizer, each distinct piece counted once; the
    characters / 4 estimate when the tokenizer cannot be loaded (`exact` says which)."""

    def __init__(self, model: str, revision: str | None = None):
        self.counts: dict[str, int] = {}
        try:
            from transformers import AutoTokenizer

            self.tokenizer: Any = AutoTokenizer.from_pretrained(model, revision=revision)
        except Exception:  # noqa: BLE001 - offline hub id, no tokenizer files: fall back to the estimate
            self.tokenizer = None

    @property
    def exact(self) -> bool:
        return self.tokenizer is not None

    def count(self, pieces: Iterable[str]) -> list[int]:
        pieces = list(pieces)
        new = list(dict.fromkeys(piece for piece in pieces if piece not in self.counts))
        if new and self.tokenizer is not None:
            encoded = self.tokenizer(new, add_special_tokens=False)["input_ids"]
            self.counts.update((piece, len(ids)) for piece, ids in zip(new, encoded))
        else:
            self.counts.update((piece, math.ceil(len(piece) / CHARACTERS_PER_TOKEN)) for piece in new)
        return [self.counts[piece] for piece in pieces]

    def prompt_tokens(self, prompt: Prompt) -> int:
        texts = [segment.strip(" ") for segment in prompt if isinstance(segment, str)]
        return 1 + sum(self.count(texts)) + IMAGE_TOKENS * (len(prompt) - len(texts))  # 1: the BOS


@dataclass
class Planner:
    counter: TokenCounter
    batch_size: int
    rows: list[CellPlan] = field(default_factory=list)

    def plan(self, group: str, config: RunConfig, tasks: Sequence[TaskSpec]) -> list[CellPlan]:
        """Every cell of one run configuration, measured on its data where the data exist."""
        rows = []
        for task in tasks:
            if _has_data(config, task.name):
                rows += self._measured(group, config, task)
            else:
                rows += self._estimated(group, config, task)
        self.rows += rows
        return rows

    def _measured(self, group: str, config: RunConfig, task: TaskSpec) -> list[CellPlan]:
        pool, queries = load_task_data(task, config, Skips(config.skip_unpaired))
        template = task.template("idefics" if config.prompt_format == "auto" else config.prompt_format)
        settings = resolve_settings(task, config)
        rows = []
        for shots in settings.shots:
            cell = CellPlan(group, task.name, task.mode, shots, len(config.seeds))
            for seed in config.seeds:
                demos = setting_demos(settings, queries, shots, lambda: _random_shots(settings, pool, seed))
                for query, query_demos in zip(queries, demos):
                    prompts = query_prompts(template, query_demos, query, task.prompt_per_image)
                    choices = [render_continuation(template, c)
                               for c in dict.fromkeys(query.meta.get(settings.choices_key, ()))]
                    self._add(cell, settings, prompts, choices)
            rows.append(self._with_generation_passes(cell))
        return rows

    def _add(self, cell: CellPlan, settings: TaskSettings, prompts: list[Prompt], choices: list[str]) -> None:
        cell.queries += 1
        cell.prompts += len(prompts)
        cell.images += sum(1 for prompt in prompts for segment in prompt if not isinstance(segment, str))
        cell.prompt_tokens += sum(self.counter.prompt_tokens(prompt) for prompt in prompts)
        if settings.task.mode == "rank":
            cell.candidate_tokens += len(prompts) * sum(self.counter.count(choices))
            cell.forward_passes += len(prompts) * (1 + math.ceil(len(choices) / CHOICES_PER_FORWARD))
        else:
            cell.new_tokens += len(prompts) * settings.generation.max_new_tokens

    def _estimated(self, group: str, config: RunConfig, task: TaskSpec) -> list[CellPlan]:
        size = task.official_size
        if size is None:
            return []
        prefix = sum(self.counter.count([task.template("idefics").prefix])) if task.templates else 0
        settings = resolve_settings(task, config)
        rows = []
        for shots in settings.shots:
            demos = shots or (FLAMINGO_TEXT_DEMOS if settings.zero_shot == "flamingo" else 0)
            per_query = size.images if task.prompt_per_image else 1
            prompts = size.queries * per_query * len(config.seeds)
            cell = CellPlan(group, task.name, task.mode, shots, len(config.seeds), queries=size.queries * len(config.seeds),
                            prompts=prompts, images=prompts * (shots + 1), estimated=True,
                            prompt_tokens=prompts * (1 + prefix + (demos + 1) * size.example_tokens))
            if task.mode == "rank":
                cell.candidate_tokens = prompts * size.choices * size.choice_tokens
                cell.forward_passes = prompts * (1 + math.ceil(size.choices / CHOICES_PER_FORWARD))
            else:
                cell.new_tokens = prompts * settings.generation.max_new_tokens
            rows.append(self._with_generation_passes(cell))
        return rows

    def _with_generation_passes(self, cell: CellPlan) -> CellPlan:
        """A generation cell's forward passes: per batch, the prompt's and one per new token."""
        if cell.mode == "generate" and cell.prompts:
            cell.forward_passes = math.ceil(cell.prompts / self.batch_size) * (1 + cell.new_tokens // cell.prompts)
        return cell


def _random_shots(settings: TaskSettings, pool: Sequence[Example], seed: int) -> RandomShots:
    """The plan's demos: random shots from the trial's support set (RICES would need the encoder)."""
    return RandomShots(support_set(pool, settings.support_size, settings.support_per_class, seed), seed)


def _has_data(config: RunConfig, task: str) -> bool:
    try:
        location = config.data_location(task)
    except Exception:  # noqa: BLE001 - no --data-dir for this task: plan from the official size
        return False
    return Path(location).exists()


def measure_throughput(adapter: Any, config: RunConfig, task: TaskSpec, batches: int, counter: TokenCounter) -> float:
    """Tokens per second on the first `batches` batches of the task's largest shot count (prompt,
    candidate and generated tokens alike, as the plan counts them)."""
    import time

    from evalkit.run.batching import generate_all, score_all

    pool, queries = load_task_data(task, config, Skips(config.skip_unpaired))
    settings = resolve_settings(task, config)
    shots, seed = max(settings.shots), config.seeds[0]
    template = task.template(adapter.default_prompt_format if config.prompt_format == "auto" else config.prompt_format)
    demos = setting_demos(settings, queries, shots, lambda: _random_shots(settings, pool, seed))
    prompts = [query_prompts(template, d, q, False)[0] for q, d in zip(queries, demos)][: batches * config.batch_size]
    choices = [[render_continuation(template, c) for c in dict.fromkeys(q.meta.get(settings.choices_key, ()))]
               for q in queries]
    generated: list[str] = []
    started = time.perf_counter()
    if task.mode == "rank":
        score_all(adapter, prompts, range(len(prompts)), lambda i: choices[i], config.batch_size, lambda i, s: None)
    else:
        generate_all(adapter, prompts, config.batch_size, settings.generation, template.stop_strings,
                     lambda i, texts: generated.extend(texts))
    elapsed = time.perf_counter() - started
    tokens = (sum(counter.prompt_tokens(p) for p in prompts) + sum(counter.count(generated))
              + sum(sum(counter.count(choices[i])) for i in range(len(prompts))))
    return tokens / elapsed


def plan_markdown(rows: Sequence[CellPlan], throughputs: dict[str, float], exact_tokens: bool) -> str:
    """The plan as a table, one row per cell, then the totals and the GPU-hour estimate (`throughputs`:
    tokens per second by task mode, generate or rank)."""
    lines = ["| run | task | shots | queries | prompts | images | prompt tokens | candidate tokens | "
             "generated tokens (max) | forward passes | GPU-h |", "|---|---|---:|" + "---:|" * 8]
    hours = {id(row): row.tokens / throughputs[row.mode] / 3600 for row in rows if row.mode in throughputs}
    for row in rows:
        hour = f"{hours[id(row)]:.2f}" if id(row) in hours else ""
        mark = " (est.)" if row.estimated else ""
        lines.append(f"| {row.group} | {row.task}{mark} | {row.shots} | {row.queries:,} | {row.prompts:,} | "
                     f"{row.images:,} | {row.prompt_tokens:,} | {row.candidate_tokens:,} | {row.new_tokens:,} | "
                     f"{row.forward_passes:,} | {hour} |")
    lines += ["", f"{len(rows)} cells, {sum(r.queries for r in rows):,} queries, {sum(r.prompts for r in rows):,} "
              f"prompts, {sum(r.images for r in rows):,} images, {sum(r.prompt_tokens for r in rows):,} prompt "
              f"tokens, {sum(r.candidate_tokens for r in rows):,} candidate tokens, at most "
              f"{sum(r.new_tokens for r in rows):,} generated tokens, {sum(r.forward_passes for r in rows):,} "
              "forward passes."]
    if len(hours) == len(rows) and rows:
        rates = ", ".join(f"{mode} {rate:,.0f}" for mode, rate in sorted(throughputs.items()))
        lines.append(f"Estimate: {sum(hours.values()):,.1f} GPU-hours at {rates} tokens/s.")
    else:
        lines.append("GPU-hours: give --throughput TOKENS_PER_SECOND, or --measure-batches N to time the "
                     "first batches of each kind of task (generation, ranking).")
    if not exact_tokens:
        lines.append("Tokens estimated as characters / 4: the model's tokenizer could not be loaded.")
    if any(row.estimated for row in rows):
        lines.append("(est.): no data at hand; the benchmark's official size and typical lengths (plugin's "
                     "official_size) stand in.")
    return "\n".join(lines) + "\n"
