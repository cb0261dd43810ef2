"""What one `evalkit run` is asked to do, checked, and what of it its predictions depend on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.data.source import task_folder
from evalkit.errors import EvalkitError
from evalkit.models.loading import checkpoint_signature
from evalkit.report.journal import as_identity
from evalkit.taskspec import NORMALIZATIONS, ZERO_SHOT_STYLES, TaskSpec

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
    progress: bool = True

    # Settings that change no prediction (float32): a rerun with other values still continues the run.
    NOT_IN_IDENTITY = ("output", "batch_size", "workers", "device", "attention", "device_map", "vision_cache_mb",
                       "embedding_cache", "force", "progress")

    def identity(self, tasks: dict[str, TaskSpec]) -> dict[str, Any]:
        """What the run's predictions and scores depend on: the config and each task's templates."""
        fields = {k: v for k, v in asdict(self).items() if k not in self.NOT_IN_IDENTITY}
        templates = {name: {fmt: asdict(t) for fmt, t in sorted(task.templates.items())} for name, task in tasks.items()}
        generation = {name: asdict(task.generation) for name, task in tasks.items()}
        return as_identity({"config": fields, "checkpoint": checkpoint_signature(self.model),
                            "templates": templates, "generation": generation})

    def validate(self) -> None:
        if not self.tasks:
            raise EvalkitError("no task given", field="--tasks")
        if any(k < 0 for k in self.shots) or not self.shots:
            raise EvalkitError("shot counts must be 0 or more", field="--shots")
        if not self.seeds:
            raise EvalkitError("give at least one seed", field="--seeds")
        if self.batch_size < 1:
            raise EvalkitError("must be at least 1", field="--batch-size")
        if self.workers is not None and self.workers < 0:
            raise EvalkitError("must be 0 or more", field="--workers")
        if self.vision_cache_mb < 0:
            raise EvalkitError("must be 0 (off) or more", field="--vision-cache-mb")
        if self.limit is not None and self.limit < 1:
            raise EvalkitError("must be at least 1", field="--limit")
        if self.shot_selection not in (None, "random", "rices"):
            raise EvalkitError("must be random or rices", field="--shot-selection")
        if self.normalization not in (None, *NORMALIZATIONS):
            raise EvalkitError(f"must be one of {', '.join(NORMALIZATIONS)}", field="--normalization")
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
