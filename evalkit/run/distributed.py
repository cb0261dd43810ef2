"""Data-parallel runs under `torchrun` or `accelerate launch`: which queries this process evaluates,
and gathering every process's results onto all of them.

Each query goes to exactly one process (a strided slice of the length-sorted order, so every process
gets a similar mix of lengths; no padding copies, unlike a DistributedSampler), demos depend only
on the seed and the query, and the main process alone scores and writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> "Processes":
        """The launcher's RANK / WORLD_SIZE / LOCAL_RANK; the process group is joined when there are
        several (NCCL with GPUs, gloo without)."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        processes = cls(int(os.environ.get("RANK", "0")), world_size, int(os.environ.get("LOCAL_RANK", "0")))
        if world_size > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            if backend == "nccl":
                torch.cuda.set_device(processes.local_rank)
            torch.distributed.init_process_group(backend=backend)
        return processes

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> str:
        """With several processes on GPUs, `auto` (or `cuda`) means this process's own GPU."""
        if self.world_size > 1 and requested in ("auto", "cuda") and torch.cuda.is_available():
            return f"cuda:{self.local_rank}"
        return requested

    def shard(self, ordered: Sequence[int]) -> list[int]:
        return list(ordered[self.rank::self.world_size])

    def gather(self, part: dict[int, Any]) -> dict[int, Any]:
        """Every process's {query index: result}, merged (each index comes from one process)."""
        if self.world_size == 1:
            return dict(part)
        parts: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(parts, part)
        merged: dict[int, Any] = {}
        for piece in parts:
            merged.update(piece)
        return merged

    def share(self, value: Any) -> Any:
        """The main process's `value`, on every process (a barrier too)."""
        if self.world_size == 1:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.world_size > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
