"""RICES: FAISS retrieval equals brute force (order included), the embedding cache is reused and
invalidated, and the most similar demo comes last."""

import numpy as np
import pytest
from PIL import Image

from evalkit.models.offline import build_tiny_clip
from evalkit.shots.embeddings import ClipImageEncoder, EmbeddingCache
from evalkit.shots.rices import RicesShots, build_index, nearest
from evalkit.types import Example, FileImage


def test_exact_search_equals_numpy_brute_force():
    rng = np.random.default_rng(0)
    support = rng.normal(size=(500, 16)).astype(np.float32)
    support /= np.linalg.norm(support, axis=1, keepdims=True)
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    rows, scores = nearest(build_index(support)[0], queries, 7)
    similarity = queries @ support.T
    expected = np.argsort(-similarity, axis=1, kind="stable")[:, :7]
    assert (rows == expected).all()
    assert np.allclose(scores, np.take_along_axis(similarity, expected, axis=1), atol=1e-5)


def test_ties_keep_the_lower_row_first():
    support = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=np.float32)
    rows, _ = nearest(build_index(support)[0], np.array([[1, 0]], dtype=np.float32), 3)
    assert rows.tolist() == [[0, 2, 3]]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> ClipImageEncoder:
    return ClipImageEncoder(str(build_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")), device="cpu")


def coloured(folder, name, colour) -> Example:
    path = folder / f"{name}.png"
    Image.new("RGB", (40, 40), colour).save(path)
    return Example(name, FileImage(path), {"question": "q"}, ["a"])


def test_most_similar_demo_is_last(encoder, tmp_path):
    support = [coloured(tmp_path, name, colour) for name, colour in
               [("red", (250, 0, 0)), ("blue", (0, 0, 250)), ("green", (0, 200, 0)), ("dark-red", (200, 20, 20))]]
    query = coloured(tmp_path, "query", (250, 0, 0))
    cache = EmbeddingCache(tmp_path / "cache")
    vectors = cache.embeddings(encoder, [e.image for e in support], "support")
    selector = RicesShots(support, vectors, {"query": cache.embeddings(encoder, [query.image], "query")[0]})
    demos = selector.select(query, 2)
    assert demos[-1].id == "red"  # identical pixels: cosine 1, right next to the query


def test_cache_is_reused_and_invalidated(encoder, tmp_path):
    images = [coloured(tmp_path, f"i{n}", (n * 40, 0, 0)).image for n in range(5)]
    cache = EmbeddingCache(tmp_path / "cache")
    first = cache.embeddings(encoder, images, "x")
    calls = encoder.calls
    assert np.array_equal(cache.embeddings(encoder, images, "x"), first) and encoder.calls == calls
    assert not list((tmp_path / "cache").glob("*.pkl"))
    Image.new("RGB", (40, 40), (0, 0, 255)).save(images[0].path)  # the support set changed
    changed = cache.embeddings(encoder, images, "x")
    assert encoder.calls == calls + 1 and not np.allclose(changed[0], first[0])


def test_run_with_rices_reuses_the_cache(tiny_model, vqav2_dir, encoder, tmp_path):
    import json

    from evalkit.cli import main

    def run(output):
        assert main(["run", "--model", str(tiny_model), "--tasks", "vqav2", "--shots", "2", "--data-dir",
                     str(vqav2_dir), "--limit", "4", "--shot-selection", "rices", "--rices-encoder", encoder.name,
                     "--embedding-cache", str(tmp_path / "cache"), "--output", str(output), "--no-progress"]) == 0
        return [json.loads(line)["demo_ids"] for line in (output / "samples.jsonl").read_text().splitlines()]

    first = run(tmp_path / "a")
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert run(tmp_path / "b") == first
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == cached and len(cached) == 4  # 2 x (.npy, .json)
    results = json.loads((tmp_path / "a" / "results.json").read_text())["tasks"]["vqav2"]
    assert results["shot_selection"] == "rices" and results["rices"]["index"] == "flat_inner_product"


def test_approximate_indexes_find_most_neighbours_and_auto_picks_by_size():
    rng = np.random.default_rng(1)
    support = rng.normal(size=(3000, 16)).astype(np.float32)
    support /= np.linalg.norm(support, axis=1, keepdims=True)
    queries = support[:50] + 0.01
    exact, _ = nearest(build_index(support, "exact")[0], queries, 10)
    for kind in ("ivf", "hnsw"):
        index, parameters = build_index(support, kind)
        rows, _ = nearest(index, queries, 10)
        assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact)]) > 0.8, parameters
    assert build_index(support, "auto")[1]["index"] == "flat_inner_product"


def test_another_encoder_changes_the_key(encoder, tmp_path):
    other = ClipImageEncoder(str(build_tiny_clip(tmp_path / "other", seed=1)), device="cpu")
    images = [coloured(tmp_path, "x", (1, 2, 3)).image]
    cache = EmbeddingCache(tmp_path / "cache")
    assert cache.key(encoder, images) != cache.key(other, images)
