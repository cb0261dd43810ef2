"""RICES (Yang et al. 2021): each query's demos are the support examples whose images are most similar
(cosine of L2-normalised CLIP embeddings), found with FAISS and ordered so the most similar is last."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.types import Example


def build_index(vectors: np.ndarray, kind: str = "exact") -> tuple[Any, dict[str, Any]]:
    """An inner-product FAISS index: exact (flat) or HNSW; returns it with its parameters."""
    import faiss

    dim = vectors.shape[1]
    if kind == "exact":
        index, parameters = faiss.IndexFlatIP(dim), {"index": "flat_inner_product"}
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
        parameters = {"index": "hnsw_inner_product", "M": 32, "efSearch": 128}
    else:
        raise EvalkitError(f"unknown index {kind!r} (exact or hnsw)", field="--rices-index")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, parameters


def nearest(index: Any, queries: np.ndarray, k: int, margin: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k best support rows per query, best first; equal scores keep the lower row first."""
    found_scores, found_rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k + margin, index.ntotal))
    rows = np.empty((len(queries), k), dtype=np.int64)
    scores = np.empty((len(queries), k), dtype=np.float32)
    for position, (score_row, index_row) in enumerate(zip(found_scores, found_rows)):
        order = sorted((-s, r) for s, r in zip(score_row, index_row) if r >= 0)[:k]
        rows[position] = [r for _, r in order]
        scores[position] = [-s for s, _ in order]
    return rows, scores


@dataclass
class RicesShots:
    """Shot selection by image similarity; `query_vectors` maps query ids to their embeddings."""

    support: Sequence[Example]
    support_vectors: np.ndarray
    query_vectors: dict[Any, np.ndarray]
    index_kind: str = "exact"
    name: str = "rices"
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index, self.parameters = build_index(self.support_vectors, self.index_kind)

    def select(self, query: Example, k: int) -> list[Example]:
        if k > len(self.support):
            raise EvalkitError(f"{k} shots asked for but the support set holds only {len(self.support)} examples",
                               field="--shots")
        rows, _ = nearest(self.index, self.query_vectors[query.id][None, :], k + 1)
        chosen = [self.support[r] for r in rows[0] if self.support[r].id != query.id][:k]
        return chosen[::-1]  # the most similar demo last, next to the query
