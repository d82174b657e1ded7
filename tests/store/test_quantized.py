"""Vectors scanned as int8 codes and re-scored exactly: the same neighbours, exact similarities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shashin.store import memory
from shashin.store.memory import VectorIndex, member_of
from shashin.store.persisted import SearchCache
from shashin.store.quantized import Codes, RowFile


def _clustered(rng: np.random.Generator, n: int, dimensions: int) -> np.ndarray:
    centres = rng.normal(size=(40, dimensions))
    return (centres[rng.integers(0, 40, n)] + 0.6 * rng.normal(size=(n, dimensions))).astype(np.float32)


def _exact(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[set[int], np.ndarray]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return set(np.argsort(-scores)[:k].tolist()), scores


def test_codes_order_vectors_as_their_similarity_does() -> None:
    rng = np.random.default_rng(1)
    vectors = _clustered(rng, 2000, 64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes = Codes.of(vectors)
    query = vectors[7] + 0.1 * rng.normal(size=64).astype(np.float32)
    approximate = codes.scores(codes.query(query), 0, len(vectors))
    exact = vectors @ query
    assert codes.codes.dtype == np.int8 and np.abs(codes.codes).max() == 127
    assert np.corrcoef(approximate, exact)[0, 1] > 0.999


def test_a_quantized_inverted_file_finds_the_exact_neighbours_with_exact_similarities() -> None:
    rng = np.random.default_rng(2)
    vectors = _clustered(rng, 6000, 48)
    keys = np.array([f"k{i}".encode() for i in range(len(vectors))])
    index = VectorIndex(keys, keys, vectors, ann_min_rows=1, nprobe=12)
    assert index.codes is not None
    recalls = []
    for query in vectors[rng.choice(len(vectors), 30)] + 0.2 * rng.normal(size=(30, 48)).astype(np.float32):
        found = index.search(query, 10)
        truth, scores = _exact(vectors, query, 10)
        recalls.append(len({row for row, _ in found} & truth) / 10)
        assert all(abs(score - scores[row]) < 1e-5 for row, score in found)  # re-scored, not approximate
    assert np.mean(recalls) >= 0.99


def test_a_large_saved_matrix_is_re_ranked_from_rows_read_not_mapped(tmp_path: Path, monkeypatch) -> None:
    """Above READ_ROWS_ABOVE bytes the candidates' float32 rows are read from the file (what a query
    touches then stays out of the process's memory), with the same answers as through the mapping."""
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, 3000, 32)
    keys = np.array([f"k{i}".encode() for i in range(len(vectors))])
    cache = SearchCache(tmp_path)
    cache.save("t", ("k",), 1, VectorIndex(keys, keys, vectors, ann_min_rows=1, nprobe=8).arrays())
    mapped = VectorIndex.opened(cache.open("t", ("k",), 1) or {})
    monkeypatch.setattr(memory, "READ_ROWS_ABOVE", 0)
    read = VectorIndex.opened(cache.open("t", ("k",), 1) or {})
    assert mapped._rows is None and isinstance(read._rows, RowFile)
    for query in rng.normal(size=(10, 32)).astype(np.float32):
        assert read.search(query, 20) == mapped.search(query, 20)


@pytest.mark.parametrize("width", [8, 32, 40])
def test_membership_by_hash_is_exactly_np_isin(width: int) -> None:
    rng = np.random.default_rng(width)
    values = np.array([rng.bytes(width // 2).hex()[: width - 3].encode() for _ in range(5000)])
    wanted = np.concatenate([values[rng.choice(5000, 300, replace=False)], np.array([b"absent", b""])])
    assert (member_of(values, wanted) == np.isin(values, wanted)).all()
    assert not member_of(values, np.array([], dtype="S1")).any() and len(member_of(values[:0], wanted)) == 0
