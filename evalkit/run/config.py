"""What one `evalkit run` is asked to do, checked, and what of it its predictions depend on."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from evalkit.data.source import task_location
from evalkit.errors import EvalkitError
from evalkit.models.loading import checkpoint_signature
from evalkit.run.journal import as_identity
from evalkit.run.subsets import Subset
from evalkit.taskspec import NORMALIZATIONS, OVERFLOW_POLICIES, ZERO_SHOT_STYLES, TaskSpec

FLAMINGO_TEXT_DEMOS = 2
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
NAME_MAX = 255  # bytes in one path part (Linux, macOS)


def chosen(option: Any, default: Any) -> Any:
    """The run's option where it gives one (None: not given), else the task's default; 0 is a value."""
    return default if option is None else option


def _no_repeats(values: list, option: str) -> None:
    repeated = [value for position, value in enumerate(values) if value in values[:position]]
    if repeated:
        raise EvalkitError(f"{repeated[0]} given twice", field=option)


@dataclass
class RunConfig:
    model: str
    tasks: list[str]
    shots: list[int]
    seeds: list[int]
    output: Path
    data_dirs: dict[str, str] = field(default_factory=dict)
    batch_size: int = 8
    limit: int | float | None = None  # N: the first N queries; a fraction in (0, 1): the first ceil(f * len)
    sample: int | None = None  # a seeded random N queries (evalkit/run/subsets.py)
    sample_seed: int = 0
    ids: str | None = None  # a file of query ids
    prompt_format: str = "auto"
    system_prompt: str | None = None  # chat-template format: a system message (in the identity)
    metric_variant: str | None = None
    query_split: str | None = None
    shot_selection: str | None = None  # "random" or "rices"; None: each task's default
    rices_encoder: str = "openai/clip-vit-large-patch14"
    rices_index: str = "auto"  # or exact, ivf, hnsw
    embedding_cache: Path = Path(".evalkit/embeddings")
    normalization: str | None = None  # ranking tasks: sum, mean or sequence-mean (see taskspec.NORMALIZATIONS)
    support_per_class: int | None = None
    zero_shot: str = "flamingo"
    support_size: int | None = None
    max_new_tokens: int | None = None
    num_beams: int | None = None
    dtype: str = "auto"
    device: str = "auto"
    revision: str | None = None
    trust_remote_code: bool = False
    attention: str = "auto"  # auto (SDPA where supported), sdpa, eager, flash_attention_2
    device_map: str | None = None  # "auto": shard one model across the node's GPUs
    vision_cache_mb: float = 2048
    workers: int | None = None  # DataLoader workers preparing inputs; None: 4 with a GPU, 0 without
    force: bool = False  # discard predictions in the output folder that came from another configuration
    skip_unpaired: bool = False  # leave out questions without annotations (listed in results.json)
    # A prompt over the model's context: "error" or "drop-shots" (evalkit/prompts/context.py); None:
    # each task's own. Not in the identity: each prompt's digest already says which demos it holds.
    context_overflow: str | None = None
    progress: bool = True
    # Bootstrap resamples of each setting's queries for its interval (0: none). Not in the identity: it
    # changes no prediction, and every run rescores all its settings, so the intervals are made afresh.
    bootstrap: int = 1000
    log_samples: str = "full"  # samples.jsonl: full, compact (no prompt text) or none (evalkit/run/writer.py)

    # Settings that change no prediction (float32): a rerun with other values still continues the run.
    NOT_IN_IDENTITY = ("output", "batch_size", "workers", "device", "attention", "device_map", "vision_cache_mb",
                       "embedding_cache", "force", "progress", "context_overflow", "bootstrap", "log_samples")
    # What a rerun may add to: each (task, shots, seed) setting keeps its own outputs, keyed by query id
    # and prompt, so other shot counts, seeds, a larger --limit or another task extend the run.
    EXTENDS = ("tasks", "shots", "seeds", "limit", "sample", "sample_seed", "ids", "data_dirs")

    def subset(self) -> Subset:
        """Which queries of each split the run scores."""
        return Subset(limit=self.limit, sample=self.sample, sample_seed=self.sample_seed, ids=self.ids)

    def identity(self, tasks: dict[str, TaskSpec], checkpoint: Any = None) -> dict[str, Any]:
        """What the run's predictions and scores depend on: the config, the checkpoint (its folder's
        signature, or `checkpoint` given for a model object), and per task its templates, generation
        settings and data folders (paths resolved: `data/` is `./data`)."""
        fields = {k: v for k, v in asdict(self).items() if k not in self.NOT_IN_IDENTITY + self.EXTENDS}
        fields["model"] = _resolved(self.model)
        per_task = {name: {"data": _resolved(self.data_location(name)),
                           "support": _resolved(self.data_dirs.get(f"{name}:support", self.data_location(name))),
                           "templates": {fmt: asdict(t) for fmt, t in sorted(task.templates.items())},
                           "generation": asdict(task.generation)}
                    for name, task in tasks.items()}
        return as_identity({"config": fields, "checkpoint": checkpoint if checkpoint is not None else checkpoint_signature(self.model), "tasks": per_task})

    def validate(self) -> None:
        """Every option checked before any data or model is read; the first fault is a one-line error."""
        if not self.tasks:
            raise EvalkitError("no task given", field="--tasks")
        if any(k < 0 for k in self.shots) or not self.shots:
            raise EvalkitError("shot counts must be 0 or more", field="--shots")
        if not self.seeds:
            raise EvalkitError("give at least one seed", field="--seeds")
        for option, values in (("--shots", self.shots), ("--seeds", self.seeds), ("--tasks", self.tasks)):
            _no_repeats(values, option)
        self.subset().validate()
        for option, value in (("--batch-size", self.batch_size),
                              ("--support-size", self.support_size), ("--support-per-class", self.support_per_class),
                              ("--max-new-tokens", self.max_new_tokens), ("--num-beams", self.num_beams)):
            if value is not None and value < 1:  # 0 is not "the default": None is
                raise EvalkitError(f"must be at least 1, not {value}", field=option)
        if self.bootstrap < 0:
            raise EvalkitError("must be 0 (off) or more", field="--bootstrap")
        if self.workers is not None and self.workers < 0:
            raise EvalkitError("must be 0 or more", field="--workers")
        if self.vision_cache_mb < 0:
            raise EvalkitError("must be 0 (off) or more", field="--vision-cache-mb")
        if not DEVICE.match(self.device):
            raise EvalkitError(f"unknown device {self.device!r} (auto, cpu, cuda, cuda:N or mps)", field="--device")
        if self.shot_selection not in (None, "random", "rices"):
            raise EvalkitError("must be random or rices", field="--shot-selection")
        if self.normalization not in (None, *NORMALIZATIONS):
            raise EvalkitError(f"must be one of {', '.join(NORMALIZATIONS)}", field="--normalization")
        if self.context_overflow not in (None, *OVERFLOW_POLICIES):
            raise EvalkitError(f"must be one of {', '.join(OVERFLOW_POLICIES)}", field="--context-overflow")
        if self.system_prompt and self.prompt_format in ("idefics", "idefics-instruct", "openflamingo"):
            raise EvalkitError(f"only the chat-template prompt format has a system message, not "
                               f"{self.prompt_format}", field="--system-prompt")
        if self.log_samples not in ("full", "compact", "none"):
            raise EvalkitError("must be full, compact or none", field="--log-samples")
        if self.zero_shot not in ZERO_SHOT_STYLES:
            raise EvalkitError(f"must be one of {', '.join(ZERO_SHOT_STYLES)}", field="--zero-shot")
        self._check_paths()

    def _check_paths(self) -> None:
        """No part of a path over the filesystem's name limit (the OS would refuse it later, mid-run)."""
        paths = [("--model", self.model), ("--output", str(self.output)), ("--rices-encoder", self.rices_encoder),
                 ("--embedding-cache", str(self.embedding_cache))]
        paths += [("--data-dir", location) for location in self.data_dirs.values()]
        for option, path in paths:
            long = next((part for part in Path(path).parts if len(part.encode("utf-8")) > NAME_MAX), None)
            if long is not None:
                raise EvalkitError(f"a part of the path is {len(long.encode('utf-8'))} bytes long, over the "
                                   f"{NAME_MAX} a file name may have: {long[:40]}...", field=option)

    def check_data_dirs(self, tasks: Iterable[str]) -> None:
        """Each `--data-dir TASK=D` (or GROUP=D, TASK:support=D) names a task of this run or of the
        registry: a misspelt name would otherwise be ignored."""
        from evalkit.registry import all_tasks

        names = {*all_tasks(), *tasks}
        known = names | {name.split("-", 1)[0] for name in names}
        for key in self.data_dirs:
            task = key.removesuffix(":support")
            if key != "*" and task not in known:
                close = difflib.get_close_matches(task, sorted(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise EvalkitError(f"{key}={self.data_dirs[key]} names no task{hint}", field="--data-dir")

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
        return task_location(default, task)


def _resolved(location: str) -> str:
    """A local path as an absolute one (so `data/`, `data` and `./data` are one folder); hub ids as given."""
    path = Path(location)
    return str(path.resolve()) if path.exists() else location
