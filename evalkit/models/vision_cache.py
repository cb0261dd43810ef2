"""A bounded, least-recently-used store of per-image vision features.

A k-shot run shows the same support images to many queries; the reference harnesses run the vision
encoder on every image of every prompt. Keyed by the image's `key` (its file), each distinct image is
encoded once while it stays in the store; the memory bound keeps a long run from filling the GPU.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Sequence

import torch


class VisionFeatureCache:
    """Features (one tensor per image) kept under `limit_bytes`; a limit of 0 stores nothing."""

    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes
        self._entries: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = self.evictions = 0

    @property
    def enabled(self) -> bool:
        return self.limit_bytes > 0

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def keys(self) -> set[str]:
        return set(self._entries)

    def features(self, keys: Sequence[str], encode: Callable[[list[str]], list[torch.Tensor]]) -> dict[str, torch.Tensor]:
        """The features of every key: stored ones reused, the others computed in one `encode` call
        (given the missing keys, in order) and stored while room allows."""
        wanted = list(dict.fromkeys(keys))
        found = {key: self._entries[key] for key in wanted if key in self._entries}
        for key in found:
            self._entries.move_to_end(key)
        missing = [key for key in wanted if key not in found]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            for key, tensor in zip(missing, encode(missing)):
                found[key] = tensor
                self._store(key, tensor, protected=set(wanted))
        return found

    def _store(self, key: str, tensor: torch.Tensor, protected: set[str]) -> None:
        size = tensor.numel() * tensor.element_size()
        if size > self.limit_bytes:
            return
        while self._bytes + size > self.limit_bytes:
            oldest = next((k for k in self._entries if k not in protected), None)
            if oldest is None:
                return
            self._bytes -= self._nbytes(self._entries.pop(oldest))
            self.evictions += 1
        self._entries[key] = tensor
        self._bytes += size

    @staticmethod
    def _nbytes(tensor: torch.Tensor) -> int:
        return tensor.numel() * tensor.element_size()

    def stats(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "stored": len(self._entries), "stored_bytes": self._bytes, "limit_bytes": self.limit_bytes}
