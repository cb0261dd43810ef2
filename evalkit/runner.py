"""One evaluation run: the only module that sees every stage.

data -> shots -> prompts -> batched generation -> answer extraction -> metric -> results store
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from evalkit import __version__
from evalkit.batching import generate_all
from evalkit.data.source import task_folder
from evalkit.environment import describe_environment
from evalkit.errors import EvalkitError
from evalkit.metrics.classification import ranked
from evalkit.models.base import ModelAdapter
from evalkit.prompts.builder import Demo, build_prompt, prompt_text, render_continuation
from evalkit.registry import expand_task_names, get_task
from evalkit.report.store import SampleLog, prepare_output, write_atomic, write_json
from evalkit.report.table import breakdown_table, results_table
from evalkit.scoring import score_predictions
from evalkit.shots.random_shots import RandomShots, draw_support, draw_support_per_class
from evalkit.taskspec import GenerationSettings, TaskSpec
from evalkit.types import Example

ZERO_SHOT_STYLES = ("flamingo", "none")
FLAMINGO_TEXT_DEMOS = 2


@dataclass
class RunConfig:
    model: str
    tasks: list[str]
    shots: list[int]
    seeds: list[int]
    output: Path
    data_dirs: dict[str, str] = field(default_factory=dict)
    batch_size: int = 8
    limit: int | None = None
    prompt_format: str = "auto"
    metric_variant: str | None = None
    query_split: str | None = None
    shot_selection: str | None = None  # "random" or "rices"; None: each task's default
    rices_encoder: str = "openai/clip-vit-large-patch14"
    rices_index: str = "auto"  # or exact, ivf, hnsw
    embedding_cache: Path = Path(".evalkit/embeddings")
    normalization: str | None = None  # ranking tasks: "sum" or "mean" of token log-probabilities
    support_per_class: int | None = None
    zero_shot: str = "flamingo"
    support_size: int | None = None
    max_new_tokens: int | None = None
    num_beams: int | None = None
    dtype: str = "auto"
    device: str = "auto"
    revision: str | None = None
    trust_remote_code: bool = False
    progress: bool = True

    def validate(self) -> None:
        if not self.tasks:
            raise EvalkitError("no task given", field="--tasks")
        if any(k < 0 for k in self.shots) or not self.shots:
            raise EvalkitError("shot counts must be 0 or more", field="--shots")
        if not self.seeds:
            raise EvalkitError("give at least one seed", field="--seeds")
        if self.batch_size < 1:
            raise EvalkitError("must be at least 1", field="--batch-size")
        if self.limit is not None and self.limit < 1:
            raise EvalkitError("must be at least 1", field="--limit")
        if self.shot_selection not in (None, "random", "rices"):
            raise EvalkitError("must be random or rices", field="--shot-selection")
        if self.normalization not in (None, "sum", "mean"):
            raise EvalkitError("must be sum or mean", field="--normalization")
        if self.zero_shot not in ZERO_SHOT_STYLES:
            raise EvalkitError(f"must be one of {', '.join(ZERO_SHOT_STYLES)}", field="--zero-shot")

    def data_location(self, task: str) -> str:
        """`--data-dir TASK=D` (or GROUP=D for a task group such as fairface), else `--data-dir D`:
        D/<task> or D/<group> when that folder exists (the layout `evalkit make-data` writes), else D."""
        group = task.split("-", 1)[0]
        for key in (task, group):
            if key in self.data_dirs:
                return self.data_dirs[key]
        default = self.data_dirs.get("*")
        if not default:
            raise EvalkitError(f"no data location for task {task}", field="--data-dir")
        return str(task_folder(Path(default), task)) if Path(default).is_dir() else default


def demos_for(selector: RandomShots, query: Example, shots: int, zero_shot: str,
              task: TaskSpec) -> list[Demo]:
    """k demos with images; for 0 shots, Flamingo's 2 text-only demos unless true zero-shot."""
    if shots == 0:
        if zero_shot == "none":
            return []
        chosen = selector.select(query, FLAMINGO_TEXT_DEMOS)
        return [Demo(example, task.demo_answer(example), show_image=False) for example in chosen]
    return [Demo(example, task.demo_answer(example)) for example in selector.select(query, shots)]


def _generation_settings(task: TaskSpec, config: RunConfig) -> GenerationSettings:
    settings = task.generation
    return GenerationSettings(
        max_new_tokens=config.max_new_tokens or settings.max_new_tokens,
        num_beams=config.num_beams or settings.num_beams,
        length_penalty=settings.length_penalty,
    )


def _summary(per_seed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    values = [aggregate["score"] for aggregate in per_seed.values()]
    unscored = any(value is None for value in values)
    return {
        "mean": None if unscored else statistics.fmean(values),
        "std": None if unscored else (statistics.stdev(values) if len(values) > 1 else 0.0),
        "num_seeds": len(values),
        "per_seed": per_seed,
    }


def _top_choice(prediction: Any) -> Any:
    """A ranking prediction ({choice: score}) is shown as its best choice; answers as they are."""
    return ranked(prediction)[0] if isinstance(prediction, dict) else prediction


class Run:
    """Evaluates one adapter on the configured tasks, writing into the output folder as it goes."""

    def __init__(self, config: RunConfig, task_specs: dict[str, TaskSpec] | None = None):
        """Check the config and load every task's data before any model is loaded.

        `task_specs` replaces the registry's plugins by name (tests use it to break a task on purpose).
        """
        config.validate()
        overrides = task_specs or {}
        config.tasks = [t for t in config.tasks if t in overrides] + expand_task_names(
            [t for t in config.tasks if t not in overrides])
        self.config = config
        self.tasks = {name: overrides.get(name) or get_task(name) for name in config.tasks}
        self.metrics = {name: task.metric_for(config.metric_variant) for name, task in self.tasks.items()}
        self.data: dict[str, tuple[list[Example], list[Example]]] = {}
        for name, task in self.tasks.items():
            location = config.data_location(name)
            queries = task.data.load(location, "query", split=config.query_split)[: config.limit]
            support_location = config.data_dirs.get(f"{name}:support", location)
            self.data[name] = (task.data.load(support_location, "support"), queries)
        self.output = prepare_output(config.output)
        self.encoder: Any = None
        self.rices_parameters: dict[str, dict] = {}
        self.selectors: dict[tuple[str, int], Any] = {}
        self.vectors: dict[str, tuple[Any, Any]] = {}

    def evaluate_task(self, task: TaskSpec, adapter: ModelAdapter, samples: SampleLog) -> dict[str, Any]:
        config = self.config
        prompt_format = adapter.default_prompt_format if config.prompt_format == "auto" else config.prompt_format
        template = task.template(prompt_format)
        settings = _generation_settings(task, config)
        pool, queries = self.data[task.name]
        support_size = config.support_size or task.support_size
        shots_results: dict[str, dict[str, Any]] = {}
        for shots in config.shots:
            per_seed = {}
            for seed in config.seeds:
                selector = self._selector(task, pool, queries, support_size, seed)
                demos = [demos_for(selector, query, shots, config.zero_shot, task) for query in queries]
                aggregate = self._evaluate_setting(adapter, samples, task, template, settings, queries, demos,
                                                   shots, seed)
                per_seed[str(seed)] = aggregate
            shots_results[str(shots)] = _summary(per_seed)
        return {
            "benchmark": task.published_name or task.name,
            "metric": self.metrics[task.name].name,
            "metric_variant": self.metrics[task.name].variant,
            "data": config.data_location(task.name),
            "prompt_format": prompt_format,
            "template": asdict(template),
            "generation": asdict(settings),
            "shot_selection": config.shot_selection or task.shot_selection,
            "rices": self.rices_parameters.get(task.name),
            "support_per_class": config.support_per_class or task.support_per_class,
            "score_normalization": (config.normalization or task.score_normalization) if task.mode == "rank" else None,
            "zero_shot": config.zero_shot,
            "support_pool_size": len(pool),
            "support_size": len(self._selector(task, pool, queries, support_size, config.seeds[0]).support),
            "query_split": config.query_split or "default",
            "num_queries": len(queries),
            "shots": shots_results,
        }

    def _selector(self, task: TaskSpec, pool: list[Example], queries: list[Example], support_size: int,
                  seed: int) -> Any:
        """The shot selector of a task and seed, built once and reused for every shot count."""
        key = (task.name, seed)
        if key not in self.selectors:
            support = self._support(task, pool, support_size, seed)
            if (self.config.shot_selection or task.shot_selection) == "random":
                self.selectors[key] = RandomShots(support, seed)
            else:
                self.selectors[key] = self._rices(task, pool, queries, support)
        return self.selectors[key]

    def _rices(self, task: TaskSpec, pool: list[Example], queries: list[Example], support: list[Example]) -> Any:
        """RICES over the support's CLIP embeddings; the pool's and queries' vectors are computed (or
        read from the cache) once per task and sliced for each seed's support."""
        from evalkit.shots.embeddings import ClipImageEncoder, EmbeddingCache
        from evalkit.shots.rices import RicesShots

        if task.name not in self.vectors:
            if self.encoder is None:
                self.encoder = ClipImageEncoder(self.config.rices_encoder, self.config.device)
            cache = EmbeddingCache(self.config.embedding_cache)
            self.vectors[task.name] = (
                cache.embeddings(self.encoder, [e.image for e in pool], f"{task.name} support"),
                cache.embeddings(self.encoder, [e.image for e in queries], f"{task.name} queries"),
            )
        pool_vectors, query_vectors = self.vectors[task.name]
        row = {id(example): position for position, example in enumerate(pool)}
        selector = RicesShots(support, pool_vectors[[row[id(e)] for e in support]],
                              {q.id: v for q, v in zip(queries, query_vectors)}, self.config.rices_index)
        self.rices_parameters[task.name] = {"encoder": self.config.rices_encoder, **selector.parameters}
        return selector

    def _support(self, task: TaskSpec, pool: list[Example], support_size: int, seed: int) -> list[Example]:
        per_class = self.config.support_per_class or task.support_per_class
        if per_class:
            return draw_support_per_class(pool, per_class, seed)
        return draw_support(pool, support_size, seed)

    def _rank(self, adapter: ModelAdapter, task: TaskSpec, template, prompts: Sequence, queries: Sequence[Example],
              bar: Any) -> list[dict[str, float]]:
        """Each query's choices scored by the log-likelihood of their answer text after the prompt."""
        use_mean = (self.config.normalization or task.score_normalization) == "mean"
        predictions = []
        for prompt, query in zip(prompts, queries):
            choices = list(dict.fromkeys(query.meta["choices"]))
            scored = adapter.score_continuations(prompt, [render_continuation(template, c) for c in choices])
            predictions.append({c: (s.mean if use_mean else s.total) for c, s in zip(choices, scored)})
            bar.update(1)
        return predictions

    def _evaluate_setting(self, adapter: ModelAdapter, samples: SampleLog, task: TaskSpec, template,
                          settings: GenerationSettings,
                          queries: Sequence[Example], demos: Sequence[list[Demo]], shots: int, seed: int) -> dict:
        prompts = [build_prompt(template, query_demos, query) for query, query_demos in zip(queries, demos)]
        stop_strings = template.stop_strings
        bar = tqdm(total=len(prompts), desc=f"{task.name} {shots}-shot seed {seed}", unit="q",
                   disable=not self.config.progress)
        metric = self.metrics[task.name]
        generations: list[Any] = [""] * len(queries)

        def record_batch(indices: list[int], texts: list[str]) -> None:
            for index, text in zip(indices, texts):
                generations[index] = text
            bar.update(len(indices))

        if task.mode == "rank":
            generations = predictions = self._rank(adapter, task, template, prompts, queries, bar)
        else:
            generate_all(adapter, prompts, self.config.batch_size, settings, stop_strings, record_batch)
            predictions = [task.postprocess(generation, stop_strings) for generation in generations]
        bar.close()
        exported = self._export_predictions(task, queries, predictions, shots, seed)
        if all(query.references for query in queries):
            scored = score_predictions(metric, queries, predictions)
            scores: Sequence[float | None] = scored.scores
            aggregate = {**scored.aggregate, "predictions_file": exported}
        else:
            scores = [None] * len(queries)
            aggregate = {"score": None, "count": len(queries), "unscored": "the split has no answers",
                         "predictions_file": exported}
        samples.append({
            "task": task.name, "shots": shots, "seed": seed, "id": query.id,
            "demo_ids": [demo.example.id for demo in query_demos], "prompt": prompt_text(prompt),
            "generation": generation, "prediction": _top_choice(prediction), "score": score,
            # Ranking tasks keep the gold class: ROC-AUC needs it to be recomputed from the samples.
            **({"reference": query.references[0]} if task.mode == "rank" and query.references else {}),
        } for query, query_demos, prompt, generation, prediction, score
            in zip(queries, demos, prompts, generations, predictions, scores))
        return aggregate

    def _export_predictions(self, task: TaskSpec, queries: Sequence[Example], predictions: Sequence[str],
                            shots: int, seed: int) -> str:
        """The benchmark's official results format (EvalAI's upload file for test splits)."""
        id_key, answer_key = task.prediction_keys
        name = f"predictions_{task.name}_{shots}shot_seed{seed}.json"
        write_json(self.output / name, [{id_key: query.id, answer_key: prediction}
                                        for query, prediction in zip(queries, predictions)])
        return name

    def execute(self, adapter: ModelAdapter, label: str | None = None) -> dict[str, Any]:
        started = time.time()
        samples = SampleLog(self.output / "samples.jsonl")
        results: dict[str, Any] = {
            "evalkit_version": __version__,
            "config": {**asdict(self.config), "output": str(self.config.output)},
            "label": label,
            "model": adapter.describe(),
            "environment": describe_environment(),
            "tasks": {},
        }
        for name, task in self.tasks.items():
            results["tasks"][name] = self.evaluate_task(task, adapter, samples)
            write_json(self.output / "results.json", results)
        results["elapsed_seconds"] = round(time.time() - started, 2)
        results["finished"] = True
        write_json(self.output / "results.json", results)
        write_atomic(self.output / "table.md", results_table([results]) + "\n" + breakdown_table(results))
        return results
