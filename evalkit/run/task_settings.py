"""What a task's settings come to in a run, resolved in one place for the runner and the planner:
the shot counts its protocol allows, how 0 shots are run, the data it reads, its generation settings,
and each query's demos."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Sequence

from evalkit.data.skips import Skips
from evalkit.errors import EvalkitError
from evalkit.prompts.builder import Demo
from evalkit.run.config import FLAMINGO_TEXT_DEMOS, RunConfig, chosen
from evalkit.shots.random_shots import RandomShots
from evalkit.taskspec import GenerationSettings, TaskSpec
from evalkit.types import Example


def demos_for(selector: RandomShots, query: Example, shots: int, zero_shot: str,
              task: TaskSpec) -> list[Demo]:
    """k demos with images; for 0 shots, Flamingo's 2 text-only demos unless true zero-shot."""
    if shots == 0:
        if zero_shot == "none":
            return []
        picked = selector.select(query, FLAMINGO_TEXT_DEMOS)
        return [Demo(example, task.demo_answer(example), show_image=False) for example in picked]
    return [Demo(example, task.demo_answer(example)) for example in selector.select(query, shots)]


def zero_shot_style(task: TaskSpec, config: RunConfig) -> str:
    """The task's protocol decides where it says how 0 shots are run; otherwise the run does."""
    return task.zero_shot or config.zero_shot


def demos_needed(task: TaskSpec, config: RunConfig) -> int:
    """The most demos any of the task's settings takes (0: no support set is read)."""
    zero_shot = zero_shot_style(task, config)
    return max([k or (FLAMINGO_TEXT_DEMOS if zero_shot == "flamingo" else 0) for k in task_shots(task, config)])


def task_shots(task: TaskSpec, config: RunConfig) -> list[int]:
    """The run's shot counts this task's protocol allows; none left is an error."""
    allowed = task.allowed_shots(config.shots)
    if not allowed:
        raise EvalkitError(f"task {task.name} is evaluated at {task.max_shots} shots at most", field="--shots")
    return allowed


def check_support(task: TaskSpec, pool: Sequence[Example], location: str, config: RunConfig) -> None:
    """Refuse, before any model is loaded, a support set too small for the demos asked for."""
    needed = demos_needed(task, config)
    if needed and not pool:
        raise EvalkitError(f"the support split of {task.name} has no examples", path=location)
    per_class = chosen(config.support_per_class, task.support_per_class)
    if per_class:
        sizes = Counter(example.references[0] for example in pool)
        size = sum(min(per_class, count) for count in sizes.values())
    else:
        size = min(chosen(config.support_size, task.support_size), len(pool))
    if needed > size:
        raise EvalkitError(f"{needed} demos asked for (--shots {','.join(map(str, config.shots))}) but the "
                           f"support set of {task.name} holds only {size} examples", path=location)


def load_task_data(task: TaskSpec, config: RunConfig, skips: Skips,
                   split_sizes: dict[str, int] | None = None) -> tuple[list[Example], list[Example]]:
    """The task's support pool (none for a zero-shot-only task) and queries (the run's subset: evalkit/run/subsets.py), the
    support checked against the demos asked for."""
    location = config.data_location(task.name)
    split = task.data.load(location, "query", split=config.query_split, skips=skips)
    queries = config.subset().select(split)
    if split_sizes is not None:  # the full split's size, for results.json's subset record
        split_sizes[task.name] = len(split)
    if not queries:  # found now, not after the model has loaded
        raise EvalkitError(f"the query split of {task.name} ({config.query_split or 'default'}) has no examples",
                           path=location)
    support_location = config.data_dirs.get(f"{task.name}:support", location)
    support = task.data.load(support_location, "support", skips=skips) if task.max_shots != 0 else []
    check_support(task, support, support_location, config)
    return support, queries


def generation_settings(task: TaskSpec, config: RunConfig) -> GenerationSettings:
    settings = task.generation
    return GenerationSettings(
        max_new_tokens=chosen(config.max_new_tokens, settings.max_new_tokens),
        num_beams=chosen(config.num_beams, settings.num_beams),
        length_penalty=settings.length_penalty,
    )


def setting_demos(task: TaskSpec, config: RunConfig, queries: Sequence[Example], shots: int,
                  selector: Callable[[], Any]) -> list[list[Demo]]:
    """Each query's demos at `shots`; `selector()` gives the trial's shot selector, asked for only
    when demos are drawn (a bare 0-shot query needs no support set)."""
    zero_shot = zero_shot_style(task, config)
    if shots == 0 and zero_shot == "none":
        return [[] for _ in queries]
    picked = selector()
    return [demos_for(picked, query, shots, zero_shot, task) for query in queries]
