"""RICES (Yang et al. 2021): each query's demos are the support examples whose images are most similar
(cosine of L2-normalised CLIP embeddings), found with FAISS and ordered so the most similar is last."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.types import Example


APPROXIMATE_ABOVE = 200_000  # "auto": exact search up to this many support vectors, IVF above


def build_index(vectors: np.ndarray, kind: str = "exact") -> tuple[Any, dict[str, Any]]:
    """An inner-product FAISS index, exact (flat), IVF or HNSW ("auto" picks exact or IVF by size);
    returns it with the parameters to record."""
    import faiss

    count, dim = vectors.shape
    if kind == "auto":
        kind = "exact" if count <= APPROXIMATE_ABOVE else "ivf"
    if kind == "ivf":
        lists = max(1, min(4 * int(np.sqrt(count)), count // 39))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(count, size=min(count, 256 * lists), replace=False)]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.nprobe = min(lists, 32)
        parameters: dict[str, Any] = {"index": "ivf_flat_inner_product", "nlist": lists, "nprobe": index.nprobe}
    elif kind == "exact":
        index, parameters = faiss.IndexFlatIP(dim), {"index": "flat_inner_product"}
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 256
        parameters = {"index": "hnsw_inner_product", "M": 32, "efConstruction": 80, "efSearch": 256}
    else:
        raise EvalkitError(f"unknown index {kind!r} (auto, exact, ivf or hnsw)", field="--rices-index")
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
    index_kind: str = "auto"
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
