"""Everything of a run that does not depend on the model: the tasks, their resolved settings, their
data and each trial's shot selector (with RICES, the frozen CLIP encoder and its vectors).

Built once before any model is loaded; `evalkit.evaluate` keeps one across calls (between training
steps) so that data and RICES embeddings are read and computed once.
"""

from __future__ import annotations

from typing import Any

from evalkit.data.skips import Skips

from evalkit.registry import expand_task_names, get_task
from evalkit.run.config import RunConfig
from evalkit.run.task_settings import TaskSettings, load_task_data, resolve_settings
from evalkit.shots.random_shots import RandomShots, support_set
from evalkit.taskspec import Metric, TaskSpec
from evalkit.types import Example


class PreparedTasks:
    """The run's tasks, checked and loaded; shot selectors built on first use and kept."""

    def __init__(self, config: RunConfig, task_specs: dict[str, TaskSpec] | None = None):
        """Check the config and load every task's data. `task_specs` replaces the registry's plugins
        by name (tests use it to break a task on purpose)."""
        config.validate()
        overrides = task_specs or {}
        config.tasks = [t for t in config.tasks if t in overrides] + expand_task_names(
            [t for t in config.tasks if t not in overrides])
        self.config = config
        self.tasks = {name: overrides.get(name) or get_task(name) for name in config.tasks}
        config.check_data_dirs(self.tasks)
        self.metrics: dict[str, Metric] = {name: task.metric_for(config.metric_variant)
                                           for name, task in self.tasks.items()}
        self.settings: dict[str, TaskSettings] = {name: resolve_settings(task, config)
                                                  for name, task in self.tasks.items()}
        self.skips = {name: Skips(config.skip_unpaired) for name in self.tasks}
        self.split_sizes: dict[str, int] = {}  # each query split's size before the run's subset
        self.data: dict[str, tuple[list[Example], list[Example]]] = {
            name: load_task_data(task, config, self.skips[name], self.split_sizes) for name, task in self.tasks.items()}
        if any(settings.shot_selection == "rices" for settings in self.settings.values()):
            from evalkit.shots.embeddings import check_clip_encoder

            check_clip_encoder(config.rices_encoder)  # before the model loads
        self.encoder: Any = None
        self.rices_parameters: dict[str, dict] = {}
        self._selectors: dict[tuple[str, int], Any] = {}
        self._vectors: dict[str, tuple[Any, Any]] = {}

    def selector(self, task: str, seed: int) -> Any:
        """The shot selector of a task and trial seed, built once and reused for every shot count
        (and every later evaluation): selectors draw from the seed and the query id alone."""
        key = (task, seed)
        if key not in self._selectors:
            settings = self.settings[task]
            pool, _ = self.data[task]
            support = support_set(pool, settings.support_size, settings.support_per_class, seed)
            if settings.shot_selection == "random":
                self._selectors[key] = RandomShots(support, seed)
            else:
                self._selectors[key] = self._rices(task, support)
        return self._selectors[key]

    def _rices(self, task: str, support: list[Example]) -> Any:
        """RICES over the support's CLIP embeddings; the pool's and queries' vectors are computed (or
        read from the cache) once per task and sliced for each seed's support."""
        from evalkit.shots.embeddings import ClipImageEncoder, EmbeddingCache
        from evalkit.shots.rices import RicesShots

        pool, queries = self.data[task]
        if task not in self._vectors:
            if self.encoder is None:
                self.encoder = ClipImageEncoder(self.config.rices_encoder, self.config.device)
            cache = EmbeddingCache(self.config.embedding_cache)
            self._vectors[task] = (cache.embeddings(self.encoder, [e.image for e in pool], f"{task} support"),
                                   cache.embeddings(self.encoder, [e.image for e in queries], f"{task} queries"))
        pool_vectors, query_vectors = self._vectors[task]
        row = {id(example): position for position, example in enumerate(pool)}
        selector = RicesShots(support, pool_vectors[[row[id(e)] for e in support]],
                              {q.id: v for q, v in zip(queries, query_vectors)}, self.config.rices_index)
        self.rices_parameters[task] = {"encoder": self.config.rices_encoder, **selector.parameters}
        return selector
