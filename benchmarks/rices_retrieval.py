"""RICES retrieval over a large random support set: exact inner product vs IVF vs HNSW (FAISS), in
one run: build and search time, and recall@k against the exact result.

    .venv/bin/python benchmarks/rices_retrieval.py [--support 1281167] [--dim 768] [--queries 1000] [--k 32]

The defaults (300,000 x 768) fit a 2-core machine in a few minutes; ImageNet's full 1.28M support
is --support 1281167 (about 4 GB of float32 vectors).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evalkit.shots.rices import build_index, nearest


def normalised(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    # Clustered vectors, as image embeddings are, rather than uniform noise.
    centres = rng.normal(size=(1000, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 1000, size=count)] + 0.5 * rng.normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--support", type=int, default=300_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--kinds", default="exact,ivf,hnsw")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    support, queries = normalised(rng, args.support, args.dim), normalised(rng, args.queries, args.dim)
    reference = None
    for kind in args.kinds.split(","):
        start = time.perf_counter()
        index, parameters = build_index(support, kind)
        built = time.perf_counter() - start
        start = time.perf_counter()
        rows, _ = nearest(index, queries, args.k)
        searched = time.perf_counter() - start
        if reference is None:
            reference, exact_search = rows, searched
        recall = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(rows, reference)])
        print(f"{kind:5s} {parameters}: build {built:.1f} s, search {1000 * searched / args.queries:.2f} ms/query "
              f"({exact_search / searched:.1f}x exact), recall@{args.k} {recall:.4f}")


if __name__ == "__main__":
    main()
