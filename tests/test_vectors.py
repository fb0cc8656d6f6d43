from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np
import pytest

from qabot import vectors

DIM = 32


def clustered(n: int, seed: int = 0, centres: int = 20) -> np.ndarray:
    """Normalised points around a few random centres: like real embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, DIM))
    points = middle[rng.integers(0, centres, n)] + 0.5 * rng.standard_normal((n, DIM))
    out: np.ndarray = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    return out


@pytest.mark.parametrize(("n", "flat_max", "kind"), [(500, 1000, "IndexFlatIP"), (500, 100, "IndexHNSWFlat")])
def test_index_kind_follows_size(n: int, flat_max: int, kind: str) -> None:
    index = vectors.make_index(clustered(n), flat_max=flat_max)
    assert type(index).__name__ == kind
    assert index.ntotal == n and index.d == DIM
    assert vectors.describe(index).startswith(kind)


def test_hnsw_recall_against_exact_search() -> None:
    data, queries = clustered(3000), clustered(100, seed=1)
    exact = vectors.make_index(data)
    graph = vectors.make_index(data, flat_max=1000)
    _, truth = exact.search(queries, 10)
    scores, found = graph.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.98
    # scores are inner products, as with exact search, best first
    assert np.allclose(scores, np.einsum("qd,qkd->qk", queries, data[found]), atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_ef_search_survives_write_and_read(tmp_path: Path) -> None:
    graph = vectors.make_index(clustered(300), flat_max=100)
    faiss.write_index(graph, str(tmp_path / "chunks.faiss"))
    loaded = faiss.read_index(str(tmp_path / "chunks.faiss"))
    assert loaded.hnsw.efSearch == vectors.HNSW_EF_SEARCH
    assert vectors.tune(loaded, ef_search=40).hnsw.efSearch == 40
    assert vectors.tune(loaded).hnsw.efSearch == vectors.HNSW_EF_SEARCH  # an older build's value is replaced
    assert vectors.tune(faiss.IndexFlatIP(DIM), ef_search=40).ntotal == 0  # exact: nothing to tune


def test_empty_index_pads_with_minus_one() -> None:
    index = vectors.make_index(np.zeros((0, DIM), dtype=np.float32))
    assert index.ntotal == 0
    _, ids = index.search(clustered(1), 5)
    assert (ids == -1).all()


def test_more_neighbours_than_vectors_pads_with_minus_one() -> None:
    _, ids = vectors.make_index(clustered(3), flat_max=1).search(clustered(1, seed=2), 5)
    assert sorted(ids[0][:3]) == [0, 1, 2] and (ids[0][3:] == -1).all()


def test_rejects_one_dimensional_input() -> None:
    with pytest.raises(ValueError, match="2-d"):
        vectors.make_index(np.zeros(DIM, dtype=np.float32))


def test_set_threads_keeps_explicit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in vectors.THREAD_ENV_VARS:
        monkeypatch.setenv(name, "3")
    before = faiss.omp_get_max_threads()
    try:
        vectors.set_threads(1)
        assert faiss.omp_get_max_threads() == 1
        assert all(os.environ[name] == "3" for name in vectors.THREAD_ENV_VARS)
    finally:
        vectors.set_threads(before)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[np.ndarray, Path]:
    data = clustered(50)
    np.save(tmp_path / "vectors.npy", data)
    return data, tmp_path / "vectors.npy"


@pytest.mark.parametrize(
    "key",
    [
        0,
        49,
        -1,
        slice(None),
        slice(3, 9),
        slice(40, 99),
        slice(1, 20, 3),
        [7, 3, 4, 5, 7, 49],
        np.array([2]),
        [],
    ],
)
def test_vector_file_indexes_like_numpy(saved: tuple[np.ndarray, Path], key: object) -> None:
    data, path = saved
    rows = vectors.VectorFile(path)
    assert len(rows) == 50 and rows.shape == (50, DIM) and rows.dtype == np.float32
    expected = data[key] if not isinstance(key, list) else data[np.array(key, dtype=np.int64)]
    assert np.array_equal(rows[key], expected)
    rows.close()


def test_vector_file_whole_array_and_bounds(saved: tuple[np.ndarray, Path]) -> None:
    data, path = saved
    rows = vectors.VectorFile(path)
    assert np.array_equal(np.asarray(rows), data)
    with pytest.raises(IndexError):
        rows[50]
    with pytest.raises(IndexError):
        rows[[1, 50]]
    rows.close()


def test_vector_file_refuses_truncated_files(saved: tuple[np.ndarray, Path]) -> None:
    _, path = saved
    path.write_bytes(path.read_bytes()[:-100])
    rows = vectors.VectorFile(path)
    with pytest.raises(OSError, match="shorter"):
        rows[49]
    rows.close()


@pytest.mark.parametrize("flat_max", [1000, 10])
def test_read_index_maps_and_searches_like_the_original(tmp_path: Path, flat_max: int) -> None:
    data = clustered(200)
    index = vectors.make_index(data, flat_max=flat_max)
    faiss.write_index(index, str(tmp_path / "chunks.faiss"))
    loaded = vectors.read_index(tmp_path / "chunks.faiss")
    assert type(loaded) is type(index) and loaded.ntotal == 200
    assert np.array_equal(loaded.search(data[:5], 10)[1], index.search(data[:5], 10)[1])
