"""What a task's settings come to in a run, resolved once per task for the runner and the planner:
the run's option where it gives one, else the task's own (`TaskSettings`); then the data the task
reads and each query's demos."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from evalkit.data.skips import Skips
from evalkit.errors import EvalkitError
from evalkit.prompts.builder import Demo
from evalkit.run.config import FLAMINGO_TEXT_DEMOS, RunConfig, chosen
from evalkit.shots.random_shots import RandomShots
from evalkit.taskspec import GenerationSettings, TaskSpec
from evalkit.types import Example


@dataclass(frozen=True)
class TaskSettings:
    """One task's settings in one run, each resolved once: every stage reads them from here."""

    task: TaskSpec
    shots: tuple[int, ...]  # the run's shot counts the task's protocol allows
    shots_left_out: tuple[int, ...]  # the run's shot counts it does not
    zero_shot: str  # how 0 shots are run: "flamingo" (2 text-only demos) or "none"
    support_size: int
    support_per_class: int | None
    shot_selection: str  # "random" or "rices"
    normalization: str  # how ranked candidates are scored (ranking tasks)
    context_overflow: str
    generation: GenerationSettings
    choices_key: str | None  # the example field holding a ranking task's choices

    @property
    def demos_needed(self) -> int:
        """The most demos any of the task's settings takes (0: no support set is read)."""
        return max(k or (FLAMINGO_TEXT_DEMOS if self.zero_shot == "flamingo" else 0) for k in self.shots)


def resolve_settings(task: TaskSpec, config: RunConfig) -> TaskSettings:
    """The task's settings in this run; a run whose shot counts the task allows none of is an error."""
    allowed = task.allowed_shots(config.shots)
    if not allowed:
        raise EvalkitError(f"task {task.name} is evaluated at {task.max_shots} shots at most", field="--shots")
    variant = task.variant_for(config.metric_variant)
    generation = task.generation
    return TaskSettings(
        task=task,
        shots=tuple(allowed),
        shots_left_out=tuple(k for k in config.shots if k not in allowed),
        zero_shot=task.zero_shot or config.zero_shot,  # the protocol decides where it says
        support_size=chosen(config.support_size, task.support_size),
        support_per_class=chosen(config.support_per_class, task.support_per_class),
        shot_selection=chosen(config.shot_selection, task.shot_selection),
        normalization=config.normalization or variant.normalization or task.score_normalization,
        context_overflow=chosen(config.context_overflow, task.context_overflow),
        generation=GenerationSettings(max_new_tokens=chosen(config.max_new_tokens, generation.max_new_tokens),
                                      num_beams=chosen(config.num_beams, generation.num_beams),
                                      length_penalty=generation.length_penalty),
        choices_key=variant.choices,
    )


def demos_for(selector: RandomShots, query: Example, shots: int, zero_shot: str,
              task: TaskSpec) -> list[Demo]:
    """k demos with images; for 0 shots, Flamingo's 2 text-only demos unless true zero-shot."""
    if shots == 0:
        if zero_shot == "none":
            return []
        picked = selector.select(query, FLAMINGO_TEXT_DEMOS)
        return [Demo(example, task.demo_answer(example), show_image=False) for example in picked]
    return [Demo(example, task.demo_answer(example)) for example in selector.select(query, shots)]


def check_support(settings: TaskSettings, pool: Sequence[Example], location: str, config: RunConfig) -> None:
    """Refuse, before any model is loaded, a support set too small for the demos asked for."""
    needed, name = settings.demos_needed, settings.task.name
    if needed and not pool:
        raise EvalkitError(f"the support split of {name} has no examples", path=location)
    if settings.support_per_class:
        sizes = Counter(example.references[0] for example in pool)
        size = sum(min(settings.support_per_class, count) for count in sizes.values())
    else:
        size = min(settings.support_size, len(pool))
    if needed > size:
        raise EvalkitError(f"{needed} demos asked for (--shots {','.join(map(str, config.shots))}) but the "
                           f"support set of {name} holds only {size} examples", path=location)


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
    check_support(resolve_settings(task, config), support, support_location, config)
    return support, queries


def setting_demos(settings: TaskSettings, queries: Sequence[Example], shots: int,
                  selector: Callable[[], Any]) -> list[list[Demo]]:
    """Each query's demos at `shots`; `selector()` gives the trial's shot selector, asked for only
    when demos are drawn (a bare 0-shot query needs no support set)."""
    if shots == 0 and settings.zero_shot == "none":
        return [[] for _ in queries]
    picked = selector()
    return [demos_for(picked, query, shots, settings.zero_shot, settings.task) for query in queries]
