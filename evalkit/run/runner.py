"""One evaluation run: the only module that sees every stage.

data -> shots -> prompts -> batched generation -> answer extraction -> metric -> results store
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import asdict
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from evalkit import __version__
from evalkit.run.batching import generate_all, length_order, score_all
from evalkit.data.skips import SHOWN_IDS
from evalkit.run.distributed import Processes
from evalkit.environment import describe_environment
from evalkit.errors import EvalkitError
from evalkit.example_log import EXAMPLES_FILE, example_records
from evalkit.metrics.classification import ranked
from evalkit.metrics.uncertainty import setting_interval
from evalkit.models.base import ModelAdapter
from evalkit.prompts.builder import Demo, build_prompt, image_views, prompt_text, query_prompts, render_continuation
from evalkit.prompts.context import ContextBudget, FittedPrompt, answer_room
from evalkit.run.config import RunConfig
from evalkit.run.journal import Journal, query_digests, take_folder
from evalkit.run.lock import FolderLock
from evalkit.run.prepared import PreparedTasks
from evalkit.files import prepare_output, write_atomic, write_json
from evalkit.run.writer import SampleLog, mark_unfinished
from evalkit.report.table import breakdown_table, results_table
from evalkit.scoring import choice_score, score_predictions
from evalkit.run.task_settings import setting_demos
from evalkit.taskspec import GenerationSettings, TaskSpec
from evalkit.types import Example, Prompt

# Between a query's prompts in the digest the journal keeps of them (one prompt per image).
PROMPT_SEPARATOR = "\x00next prompt\x00"


def _summary(per_seed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    values = [aggregate.get("score") for aggregate in per_seed.values()]
    unscored = any(value is None for value in values)
    return {
        "mean": None if unscored else statistics.fmean(values),
        "std": None if unscored else (statistics.stdev(values) if len(values) > 1 else 0.0),
        "num_seeds": len(values),
        "per_seed": per_seed,
    }


def _top_choice(prediction: Any) -> Any:
    """A ranking prediction ({choice: score}) is shown as its best choice (a table of them, one per
    image, as the best choice of each); answers as they are."""
    if isinstance(prediction, list):
        return [_top_choice(row) for row in prediction]
    return ranked(prediction)[0] if isinstance(prediction, dict) else prediction


def _shown_prompts(prompts: list[Prompt]) -> str | list[str]:
    """What samples.jsonl records of a query's prompts: the text, or one text per prompt."""
    return prompt_text(prompts[0]) if len(prompts) == 1 else [prompt_text(prompt) for prompt in prompts]


class Run:
    """Evaluates one adapter on the configured tasks, writing into the output folder as it goes."""

    def __init__(self, config: RunConfig, task_specs: dict[str, TaskSpec] | None = None,
                 processes: Processes | None = None, prepared: PreparedTasks | None = None,
                 checkpoint: Any = None):
        """Check the config and load every task's data (unless `prepared` holds them already) before
        any model is loaded, then take the output folder.

        `task_specs` replaces the registry's plugins by name (tests use it to break a task on purpose).
        `processes`: this process's place in a data-parallel run (default: the only one).
        `checkpoint`: what identifies the model's weights when it is not a checkpoint folder (a model
        object's fingerprint), so that a folder holding another model's outputs is not continued.
        """
        self.prepared = prepared or PreparedTasks(config, task_specs)
        self.processes = processes or Processes()
        self.config = config  # the prepared tasks' own, or a copy of it naming another model and folder
        self.tasks = self.prepared.tasks
        self.metrics = self.prepared.metrics
        self.settings = self.prepared.settings
        self.data = self.prepared.data
        self.skips = self.prepared.skips
        self.split_sizes = self.prepared.split_sizes
        self.output = prepare_output(config.output)
        self.lock: FolderLock | None = None
        self._take_folder(config.identity(self.tasks, checkpoint))
        self.runtime: dict[str, Any] = {"resumed_outputs": 0, "computed_outputs": 0, "recomputed_outputs": [],
                                        "batch_size_backoffs": []}

    def _take_folder(self, identity: dict[str, Any]) -> None:
        """The main process locks and claims the output folder for every process; a refusal reaches
        every process, which all stop with the same one-line error."""
        refusal = None
        if self.processes.is_main:
            try:
                self.lock = take_folder(self.output, identity, self.config.force)
            except EvalkitError as error:
                refusal = error
        shared = self.processes.share(refusal.one_line() if refusal else None)
        if refusal:
            raise refusal
        if shared:
            raise EvalkitError(shared)

    def close(self) -> None:
        """Release the output folder (done at the end of `execute`; safe to call again)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def evaluate_task(self, task: TaskSpec, adapter: ModelAdapter, samples: SampleLog | None,
                      examples: SampleLog | None = None) -> dict[str, Any]:
        """Every shot count and seed of one task; `examples` gets the queries and demos shown (examples.jsonl)."""
        config = self.config
        prompt_format = adapter.default_prompt_format if config.prompt_format == "auto" else config.prompt_format
        template = task.template(prompt_format)
        if config.system_prompt and prompt_format != "chat-template":  # no system turn to put it in
            raise EvalkitError(f"only the chat-template prompt format has a system message, not {prompt_format}",
                               field="--system-prompt")
        adapter.system_prompt = config.system_prompt
        resolved = self.settings[task.name]
        settings = resolved.generation
        pool, queries = self.data[task.name]
        left_out = list(resolved.shots_left_out)
        if left_out and self.processes.is_main:
            print(f"evalkit: {task.name} is evaluated at {task.max_shots} shots at most: "
                  f"{', '.join(map(str, left_out))} shots left out (listed in results.json)", file=sys.stderr)
        shots_results: dict[str, dict[str, Any]] = {}
        shown: dict[Any, tuple[Example, str]] = {}  # demo examples by id, first use first
        for shots in resolved.shots:
            per_seed = {}
            for seed in config.seeds:
                demos = setting_demos(resolved, queries, shots, lambda: self.prepared.selector(task.name, seed))
                for query_demos in demos:
                    for demo in query_demos:
                        shown.setdefault(demo.example.id, (demo.example, demo.answer))
                aggregate = self._evaluate_setting(adapter, samples, task, template, settings, queries, demos,
                                                   shots, seed)
                per_seed[str(seed)] = aggregate
            shots_results[str(shots)] = _summary(per_seed)
        if examples is not None:
            examples.append(example_records(task.name, queries, shown.values()))
        return {
            "benchmark": task.published_name or task.name,
            "metric": self.metrics[task.name].name,
            "metric_variant": self.metrics[task.name].variant,
            "data": config.data_location(task.name),
            "prompt_format": prompt_format,
            "template": asdict(template),
            "generation": asdict(settings),
            "shot_selection": resolved.shot_selection,
            "rices": self.prepared.rices_parameters.get(task.name),
            "support_per_class": resolved.support_per_class,
            "score_normalization": resolved.normalization if task.mode == "rank" else None,
            "zero_shot": resolved.zero_shot,
            "context_overflow": resolved.context_overflow,
            "support_pool_size": len(pool),
            "support_size": len(self.prepared.selector(task.name, config.seeds[0]).support)
            if pool else 0,
            "query_split": config.query_split or "default",
            "num_queries": len(queries),
            "subset": {"rule": config.subset().describe(), "split_queries": self.split_sizes[task.name]},
            "skipped": self.skips[task.name].entries,
            **({"shots_left_out": left_out} if left_out else {}),
            "shots": shots_results,
        }

    def _rank(self, adapter: ModelAdapter, task: TaskSpec, template, prompt_sets: Sequence[list[Prompt]],
              queries: Sequence[Example], indices: Sequence[int],
              record: Callable[[list[int], list[Any]], None]) -> list[dict]:
        """Each query's choices scored by the log-likelihood of their answer text after each of its
        prompts: {choice: score}, or one such row per prompt when the task scores each image. Returns
        the out-of-memory back-offs."""
        normalization = self.settings[task.name].normalization
        key = self.settings[task.name].choices_key
        owners = [index for index in indices for _ in prompt_sets[index]]  # the query of each prompt
        prompts = [prompt for index in indices for prompt in prompt_sets[index]]
        rows: dict[int, list[dict[str, float]]] = {}

        def choices(index: int) -> list[str]:
            return list(dict.fromkeys(queries[index].meta[key]))

        def record_scores(done: list[int], scored: list[list]) -> None:
            finished = []
            for position, scores in zip(done, scored):
                index = owners[position]
                rows.setdefault(index, []).append(
                    {c: choice_score(s, normalization) for c, s in zip(choices(index), scores)})
                if len(rows[index]) == len(prompt_sets[index]):
                    finished.append(index)
            if finished:
                record(finished, [rows.pop(i) if task.prompt_per_image else rows.pop(i)[0] for i in finished])

        report = score_all(adapter, prompts, range(len(prompts)),
                           lambda position: [render_continuation(template, c) for c in choices(owners[position])],
                           self.config.batch_size, record_scores, workers=self._workers(),
                           with_prompt=normalization == "sequence-mean")
        return [{"unit": "choices per forward", **backoff} for backoff in report.backoffs]

    def _workers(self) -> int:
        if self.config.workers is not None:
            return self.config.workers
        return min(4, max(1, (os.cpu_count() or 2) // 4)) if self.config.device != "cpu" and _has_gpu() else 0

    def _infer(self, adapter: ModelAdapter, task: TaskSpec, template, settings: GenerationSettings,
               prompt_sets: Sequence[list[Prompt]], queries: Sequence[Example], setting: str,
               digests: list[str]) -> list[Any]:
        """Raw outputs for every query (generations, or choice scores when ranking): those in the run
        folder's journal reused, this process's share of the rest computed (and journaled batch by
        batch), the other processes' shares gathered."""
        journal = Journal(self.output, setting, self.processes.rank)
        completed = journal.completed(queries, digests)
        done = completed.outputs
        if completed.changed and self.processes.is_main:
            self._note_recomputed(setting, [queries[index].id for index in completed.changed])
        self.processes.barrier()  # every process has read the journals before any appends to them
        prompts = [prompts[0] for prompts in prompt_sets]
        mine = self.processes.shard([i for i in length_order(prompts) if i not in done])
        bar = tqdm(total=len(mine), desc=setting, unit="q", disable=not self.config.progress)
        outputs: dict[int, Any] = {}

        def record(indices: list[int], results: list[Any]) -> None:
            journal.append((i, queries[i], digests[i], result) for i, result in zip(indices, results))
            outputs.update(zip(indices, results))
            bar.update(len(indices))

        if task.mode == "rank":
            backoffs = self._rank(adapter, task, template, prompt_sets, queries, mine, record)
        else:
            report = generate_all(adapter, prompts, self.config.batch_size, settings, template.stop_strings,
                                  record, workers=self._workers(), indices=mine)
            backoffs = [{"unit": "prompts per batch", **backoff} for backoff in report.backoffs]
        self.runtime["batch_size_backoffs"] += [{"setting": setting, **backoff} for backoff in backoffs]
        bar.close()
        self.runtime["resumed_outputs"] += len(done) if self.processes.is_main else 0
        self.runtime["computed_outputs"] += len(mine)
        gathered = {**done, **self.processes.gather(outputs)}
        return [gathered[index] for index in range(len(prompts))]

    def _note_recomputed(self, setting: str, ids: list[Any]) -> None:
        """Saved outputs whose prompt has changed since (an image replaced, a question edited) are
        recomputed: said on stderr and listed in runtime.json."""
        shown = ", ".join(map(str, ids[:SHOWN_IDS])) + (", ..." if len(ids) > SHOWN_IDS else "")
        print(f"evalkit: {setting}: {len(ids)} saved output(s) were computed from another prompt (an image, "
              f"question or demo changed since): recomputed (ids {shown})", file=sys.stderr)
        self.runtime["recomputed_outputs"].append({"setting": setting, "count": len(ids), "ids": ids})

    def _evaluate_setting(self, adapter: ModelAdapter, samples: SampleLog | None, task: TaskSpec, template,
                          settings: GenerationSettings,
                          queries: Sequence[Example], demos: Sequence[list[Demo]], shots: int, seed: int) -> dict:
        setting = f"{task.name}_{shots}shot_seed{seed}"
        fitted = self._fit_prompts(adapter, task, template, settings, queries, demos, setting)
        demos = [f.demos for f in fitted]
        prompt_sets = [query_prompts(template, query_demos, query, task.prompt_per_image)
                       for query, query_demos in zip(queries, demos)]
        digests = query_digests(prompt_sets, PROMPT_SEPARATOR)  # the journal's keys, and samples.jsonl's prompt_hash
        generations = self._infer(adapter, task, template, settings, prompt_sets, queries, setting, digests)
        if task.mode == "rank":
            predictions = generations
        else:
            predictions = [task.postprocess(generation, template.stop_strings) for generation in generations]
        if not self.processes.is_main or samples is None:
            return {}  # the main process scores and writes
        exported = self._export_predictions(task, queries, predictions, shots, seed)
        if all(query.references for query in queries):
            scored = score_predictions(self.metrics[task.name], queries, predictions)
            scores: Sequence[float | None] = scored.scores
            aggregate = {**scored.aggregate, "predictions_file": exported}
            interval = setting_interval(self.metrics[task.name], queries, scores, self.config.bootstrap)
            if interval:
                aggregate["interval"] = interval
        else:
            scores = [None] * len(queries)
            aggregate = {"score": None, "count": len(queries), "unscored": "the split has no answers",
                         "predictions_file": exported}
        dropped = [f.dropped for f in fitted]
        if any(dropped):
            aggregate["context_overflow"] = {"queries_with_dropped_shots": sum(1 for n in dropped if n),
                                             "dropped_shots": sum(dropped), "context_length": adapter.context_length}
        samples.append({
            "task": task.name, "shots": shots, "seed": seed, "id": query.id,
            "demo_ids": [demo.example.id for demo in query_demos], "prompt": _shown_prompts(prompts),
            "prompt_hash": digest, "generation": generation, "prediction": _top_choice(prediction), "score": score,
            # Ranking tasks keep the gold class: ROC-AUC needs it to be recomputed from the samples.
            **({"reference": query.references if task.prompt_per_image else query.references[0]}
               if task.mode == "rank" and query.references else {}),
            **({"dropped_shots": drops} if drops else {}),
        } for query, query_demos, prompts, digest, generation, prediction, score, drops
            in zip(queries, demos, prompt_sets, digests, generations, predictions, scores, dropped))
        return aggregate

    def _fit_prompts(self, adapter: ModelAdapter, task: TaskSpec, template, settings: GenerationSettings,
                     queries: Sequence[Example], demos: Sequence[list[Demo]], setting: str) -> list[FittedPrompt]:
        """Each query's prompt within the model's context (evalkit/prompts/context.py)."""
        policy = self.settings[task.name].context_overflow
        if adapter.context_length is None:  # no known limit: nothing to measure
            return [FittedPrompt(build_prompt(template, query_demos, query), list(query_demos), 0)
                    for query, query_demos in zip(queries, demos)]
        budget = ContextBudget(adapter.prompt_length, adapter.context_length, policy, setting)
        room = answer_room(task.mode, settings.max_new_tokens, template, adapter.continuation_ids,
                           self.settings[task.name].choices_key)
        # A task that scores each image of a query has prompts alike but for the image: the first stands for all.
        shown = [image_views(query)[0] if task.prompt_per_image else query for query in queries]
        fitted = [budget.fit(template, query_demos, query, room(query)) for query, query_demos in zip(shown, demos)]
        dropped = [f.dropped for f in fitted if f.dropped]
        if dropped and self.processes.is_main:
            print(f"evalkit: {setting}: {len(dropped)} of {len(fitted)} prompts were over the model's context "
                  f"({adapter.context_length:,} tokens): {sum(dropped):,} demos dropped, oldest first "
                  "(--context-overflow drop-shots; counted in samples.jsonl and results.json)", file=sys.stderr)
        return fitted

    def _export_predictions(self, task: TaskSpec, queries: Sequence[Example], predictions: Sequence[str],
                            shots: int, seed: int) -> str:
        """The benchmark's official results format (EvalAI's upload file for test splits)."""
        id_key, answer_key = task.prediction_keys
        name = f"predictions_{task.name}_{shots}shot_seed{seed}.json"
        write_json(self.output / name, [{id_key: query.id, answer_key: prediction}
                                        for query, prediction in zip(queries, predictions)])
        return name

    def execute(self, adapter: ModelAdapter, label: str | None = None) -> dict[str, Any]:
        """Evaluate every task; results.json depends only on the command and the data (a resumed run
        writes the same bytes as an uninterrupted one); timings and cache counts go to runtime.json.
        The output folder is released at the end, whatever happens."""
        try:
            return self._execute(adapter, label)
        finally:
            self.close()

    def _execute(self, adapter: ModelAdapter, label: str | None) -> dict[str, Any]:
        started = time.time()
        main = self.processes.is_main
        if main:
            mark_unfinished(self.output)  # before samples.jsonl is started again
        samples = SampleLog(self.output / "samples.jsonl", self.config.log_samples) if main else None
        examples = SampleLog(self.output / EXAMPLES_FILE) if main else None
        description = {**adapter.describe(), "context_length": adapter.context_length}
        description.pop("vision_cache", None)
        results: dict[str, Any] = {
            "evalkit_version": __version__,
            "config": {**asdict(self.config), "output": str(self.config.output)},
            "label": label,
            "model": description,
            "inference": {"batch_size": self.config.batch_size, "workers": self._workers(),
                          "processes": self.processes.world_size},
            "environment": describe_environment(),
            "tasks": {},
        }
        for name, task in self.tasks.items():
            results["tasks"][name] = self.evaluate_task(task, adapter, samples, examples)
            if main:
                write_json(self.output / "results.json", results)
        if self.runtime["batch_size_backoffs"]:
            results["inference"]["batch_size_backoffs"] = self.runtime["batch_size_backoffs"]
        results["finished"] = True
        if main:
            write_json(self.output / "results.json", results)
            write_atomic(self.output / "table.md", results_table([results]) + "\n" + breakdown_table(results))
            write_json(self.output / "runtime.json", {
                **self.runtime, "elapsed_seconds": round(time.time() - started, 2),
                "vision_cache": adapter.describe().get("vision_cache")})
        return results


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()
