"""evalkit from Python: `evaluate(model, processor, tasks=..., shots=...)` on a model object (inside a
training loop) or a hub id / checkpoint folder, and `Evaluator`, which keeps the tasks' data and RICES
embeddings across calls. `evalkit run` goes through `execute`, the same code path."""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from evalkit.errors import EvalkitError
from evalkit.run.config import RunConfig
from evalkit.run.config_file import checked_settings, config_from_settings
from evalkit.run.prepared import PreparedTasks

IN_MEMORY = "<in-memory model>"


@dataclass(frozen=True)
class Score:
    """One task's score at one shot count and trial seed."""

    task: str
    benchmark: str
    metric: str
    shots: int
    seed: int
    score: float | None
    count: int
    breakdowns: dict[str, Any] = field(default_factory=dict)  # the metric's other numbers (per type, ...)
    interval: dict[str, Any] | None = None  # bootstrap standard error and 95% interval over queries


AGGREGATE_KEYS = ("score", "count", "predictions_file", "interval")


@dataclass(frozen=True)
class Evaluation:
    """The results of one evaluation: `results` is the document `evalkit run` writes as results.json."""

    results: dict[str, Any]

    @property
    def scores(self) -> list[Score]:
        rows = []
        for name, task in self.results["tasks"].items():
            for shots, entry in task["shots"].items():
                for seed, aggregate in entry["per_seed"].items():
                    rows.append(Score(name, task["benchmark"], task["metric"], int(shots), int(seed),
                                      aggregate.get("score"), int(aggregate.get("count", 0)),
                                      {k: v for k, v in aggregate.items() if k not in AGGREGATE_KEYS},
                                      aggregate.get("interval")))
        return rows

    def score(self, task: str, shots: int) -> float | None:
        """A task's score at a shot count (the mean over trial seeds)."""
        try:
            return self.results["tasks"][task]["shots"][str(shots)]["mean"]
        except KeyError:
            raise EvalkitError(f"no score for {task} at {shots} shots in this evaluation") from None

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.results)

    def to_markdown(self) -> str:
        from evalkit.report.table import breakdown_table, results_table

        return results_table([self.results]) + "\n" + breakdown_table(self.results)

    def to_dataframe(self) -> Any:
        """One row per task, shot count and seed (pandas): the score, its bootstrap standard error and
        95% interval (`se`, `ci_low`, `ci_high`; empty with --bootstrap 0), and the breakdowns."""
        import pandas

        rows = []
        for row in self.scores:
            interval = row.interval or {}
            rows.append({**{k: v for k, v in asdict(row).items() if k != "interval"},
                         "se": interval.get("se"), "ci_low": interval.get("low"), "ci_high": interval.get("high")})
        return pandas.DataFrame(rows)


def _settings(tasks: Iterable[str] | str, shots: Iterable[int] | int, seeds: Iterable[int] | int,
              data_dir: str | Path | dict | None, options: dict[str, Any]) -> dict[str, Any]:
    given = {"tasks": [tasks] if isinstance(tasks, str) else list(tasks),
             "shots": [shots] if isinstance(shots, int) else list(shots),
             "seeds": [seeds] if isinstance(seeds, int) else list(seeds), **options}
    if data_dir is not None:
        given["data_dirs"] = data_dir
    return given


class Evaluator:
    """Evaluates model after model (a training run's checkpoints) on fixed tasks and settings: the
    data and the RICES embeddings (a separate, frozen CLIP encoder) are read once, but the model's own
    image features are computed again on every call, since a training step changes the perceiver;
    `vision_frozen=True` says the caller's vision side does not change, and keeps them."""

    def __init__(self, tasks: Iterable[str] | str, shots: Iterable[int] | int = (0,),
                 seeds: Iterable[int] | int = (42,), data_dir: str | Path | dict | None = None,
                 vision_frozen: bool = False, **options: Any):
        settings = checked_settings(_settings(tasks, shots, seeds, data_dir, options), "evalkit.evaluate")
        settings.setdefault("model", IN_MEMORY)
        settings.setdefault("output", Path("unused"))
        settings.setdefault("progress", False)
        self.template = config_from_settings(settings, "evalkit.evaluate")
        self.prepared = PreparedTasks(self.template)
        self.vision_frozen = vision_frozen
        self._adapter: Any = None

    def evaluate(self, model: Any, processor: Any = None, label: str | None = None,
                 output: str | Path | None = None, name: str | None = None) -> Evaluation:
        """Evaluate `model` (a loaded model object with its processor, or a hub id / folder); files are
        written only when `output` is given (else a temporary folder, removed before returning)."""
        config = copy.copy(self.template)
        if isinstance(model, (str, Path)):
            config.model = str(model)
            return self._into(config, output, lambda folder: execute(config, label=label, prepared=self.prepared))
        config.model = name or _model_name(model)
        return self._into(config, output, lambda folder: execute(
            config, label=label, prepared=self.prepared, model=model, processor=processor,
            adapter=self._adapter if self.vision_frozen else None, keep=self._keep))

    def _keep(self, adapter: Any) -> None:
        if self.vision_frozen:
            self._adapter = adapter

    def _into(self, config: RunConfig, output: str | Path | None, run: Any) -> Evaluation:
        if output is not None:
            config.output = Path(output)
            return Evaluation(_as_stored(run(config.output)))
        with tempfile.TemporaryDirectory(prefix="evalkit-") as folder:
            config.output = Path(folder) / "run"
            results = _as_stored(run(config.output))
        results["config"]["output"] = None
        return Evaluation(results)


def evaluate(model: Any, processor: Any = None, *, tasks: Iterable[str] | str, shots: Iterable[int] | int = (0,),
             seeds: Iterable[int] | int = (42,), data_dir: str | Path | dict | None = None,
             output: str | Path | None = None, label: str | None = None, **options: Any) -> Evaluation:
    """Evaluate one model once. `options` are `evalkit run`'s settings by their RunConfig names
    (batch_size, limit, max_new_tokens, dtype, ...); an unknown one is an error. For repeated calls on
    the same tasks, keep an `Evaluator`."""
    return Evaluator(tasks, shots, seeds, data_dir, **options).evaluate(model, processor, label, output)


def _as_stored(results: dict[str, Any]) -> dict[str, Any]:
    """The results as results.json holds them (lists, not tuples; paths as text)."""
    return json.loads(json.dumps(results, default=str))


def _model_name(model: Any) -> str:
    path = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
    return str(path) if path else type(model).__name__


def execute(config: RunConfig, label: str | None = None, prepared: PreparedTasks | None = None,
            model: Any = None, processor: Any = None, adapter: Any = None, keep: Any = None) -> dict[str, Any]:
    """One run: the model loaded from `config.model` (data-parallel under torchrun), or the model object
    given (borrowed: handed back in its mode, dtype and device). `evalkit run` and `evaluate` both
    come here."""
    from evalkit.models.borrowed import borrowed, weights_fingerprint
    from evalkit.models.select import load_configured, wrap_model
    from evalkit.run.distributed import Processes
    from evalkit.run.runner import Run

    if model is None:
        processes = Processes.from_environment()
        try:
            run = Run(config, processes=processes, prepared=prepared)
            try:
                return run.execute(load_configured(config, processes.device(config.device)), label)
            finally:
                run.close()
        finally:
            processes.close()
    run = Run(config, prepared=prepared, checkpoint={"weights": weights_fingerprint(model)})
    try:
        with borrowed(model, processor):
            adapter = adapter or wrap_model(model, processor, config.model, config.vision_cache_mb)
            if keep is not None:
                keep(adapter)
            return run.execute(adapter, label)
    finally:
        run.close()
