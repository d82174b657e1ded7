"""Approximate vector indexes on disk: built by optimize, used by search beyond memory_max_rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from shashin.store import SearchTuning, Store, ann
from shashin.store.ann import DiskVectorIndex
from shashin.store.memory import PhotoSet, encode
from tests.conftest import run_cli

ROWS, DIMENSIONS = 4_000, 64


def _clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    centres = rng.normal(size=(40, DIMENSIONS))
    vectors = centres[rng.integers(0, 40, n)] + rng.normal(scale=0.35, size=(n, DIMENSIONS))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def vector_store(tmp_path: Path) -> tuple[Store, np.ndarray, list[str]]:
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, ROWS)
    ids = [f"{i:032x}" for i in range(ROWS)]
    store = Store(tmp_path / "db")
    store.ensure_channel("image", [pa.field("vector", pa.list_(pa.float32(), DIMENSIONS))])
    for start in range(0, ROWS, 1_000):
        store.put_channel_rows(
            "image",
            [
                {"photo_id": ids[i], "version": "m1", "status": "done", "error": None, "vector": vectors[i].tolist()}
                for i in range(start, start + 1_000)
            ],
        )
    return store, vectors, ids


def _exact(
    vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int, allowed: set[str] | None = None
) -> list[str]:
    order = np.argsort(-(vectors @ query))
    return [ids[i] for i in order if allowed is None or ids[i] in allowed][:k]


def _recall(store: Store, vectors: np.ndarray, ids: list[str], queries: np.ndarray) -> float:
    found = 0
    for query in queries:
        hits = store.search_vectors("image", "vector", query, limit=10, version="m1")
        found += len({pid for pid, _ in hits} & set(_exact(vectors, ids, query, 10)))
    return found / (10 * len(queries))


def test_optimize_builds_an_index_and_large_tables_are_searched_through_it(vector_store) -> None:  # type: ignore[no-untyped-def]
    store, vectors, ids = vector_store
    store.search_tuning = SearchTuning(memory_max_rows=1_000)
    assert store.build_vector_indexes(min_rows=10_000)[0].action == "skipped"
    assert not isinstance(store._channel_vectors("image", "vector", "m1"), DiskVectorIndex)  # no index yet: memory

    report = store.build_vector_indexes(min_rows=1_000)
    assert [(r.table, r.column, r.rows, r.action, r.kind) for r in report] == [
        ("channel_image", "vector", ROWS, "built", "IVF_HNSW_SQ")
    ]
    searcher = store._channel_vectors("image", "vector", "m1")
    assert isinstance(searcher, DiskVectorIndex) and len(searcher) == ROWS
    queries = vectors[::200] + np.random.default_rng(9).normal(scale=0.05, size=(20, DIMENSIONS)).astype(np.float32)
    assert _recall(store, vectors, ids, queries) >= 0.9
    hits = store.search_vectors("image", "vector", vectors[7], limit=3, version="m1")
    assert hits[0][0] == ids[7] and hits[0][1] == pytest.approx(1.0, abs=1e-2)
    assert store.search_vectors("image", "vector", vectors[7], limit=3, version="other") == []  # version filter holds

    # A selective filter is answered exactly from its own rows; a broad one by over-fetching.
    universe = np.sort(encode(ids))
    few = set(ids[100:140])
    hits = store.search_vectors("image", "vector", vectors[0], limit=5, version="m1", within=PhotoSet.of(universe, few))
    assert [pid for pid, _ in hits] == _exact(vectors, ids, vectors[0], 5, few)
    half = set(ids[::2])
    hits = store.search_vectors(
        "image", "vector", vectors[1], limit=10, version="m1", within=PhotoSet.of(universe, half)
    )
    assert {pid for pid, _ in hits} <= half and len(hits) == 10

    # Rows added later are folded in; many more retrain it. A row that does not qualify (failed,
    # another model) is filtered out before ranking.
    store.put_channel_rows(
        "image",
        [{"photo_id": "f" * 32, "version": "m1", "status": "failed", "error": "x", "vector": vectors[7].tolist()}],
    )
    assert store.build_vector_indexes(min_rows=1_000)[0].action == "updated"
    assert isinstance(store._channel_vectors("image", "vector", "m1"), DiskVectorIndex)
    hits = store.search_vectors("image", "vector", vectors[7], limit=3, version="m1")
    assert hits[0][0] == ids[7] and "f" * 32 not in {pid for pid, _ in hits}
    rng = np.random.default_rng(5)
    more = _clustered(rng, 2_000)
    store.put_channel_rows(
        "image",
        [
            {
                "photo_id": f"{ROWS + i:032x}",
                "version": "m1",
                "status": "done",
                "error": None,
                "vector": more[i].tolist(),
            }
            for i in range(2_000)
        ],
    )
    assert store.build_vector_indexes(min_rows=1_000)[0].action == "rebuilt"
    hits = store.search_vectors("image", "vector", more[11], limit=1, version="m1")
    assert hits[0][0] == f"{ROWS + 11:032x}"


def test_beyond_hnsw_size_ivf_pq_with_refine_keeps_recall(vector_store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    store, vectors, ids = vector_store
    monkeypatch.setattr(ann, "HNSW_MAX_ROWS", 1_000)
    store.search_tuning = SearchTuning(memory_max_rows=1_000, refine=50)
    assert store.build_vector_indexes(min_rows=1_000)[0].kind == "IVF_PQ"
    queries = vectors[::200] + np.random.default_rng(9).normal(scale=0.05, size=(20, DIMENSIONS)).astype(np.float32)
    assert _recall(store, vectors, ids, queries) >= 0.9
    store.search_tuning = SearchTuning(memory_max_rows=1_000, refine=0)
    store._memory.clear()
    unrefined = _recall(store, vectors, ids, queries)
    assert unrefined < 0.99  # PQ codes alone are lossy: refine is what restores recall


def test_plan_chooses_by_size() -> None:
    assert ann.plan(200_000, 768).kind == "IVF_HNSW_SQ"
    big = ann.plan(10_000_000, 768)
    assert (big.kind, big.partitions, big.sub_vectors) == ("IVF_PQ", 3162, 96)
    assert ann.plan(1_000_000, 768).partitions == 20 and ann.default_nprobe(ann.plan(1_000_000, 768)) == 10
    assert ann.default_nprobe(big) == 98


def test_optimize_command(vector_store) -> None:  # type: ignore[no-untyped-def]
    store, _, _ = vector_store
    result = run_cli("optimize", "--db", store.root, "--min-rows", "1000", "--json", check=True)
    report = json.loads(result.stdout)
    assert report["indexes"][0]["action"] == "built" and report["indexes"][0]["kind"] == "IVF_HNSW_SQ"
    assert report["searched_on_disk"] == []  # 4,000 rows stay in memory under the default 2M
    text = run_cli("optimize", "--db", store.root, "--min-rows", "1000", check=True).stdout
    assert "channel_image" in text and "updated" in text
    assert "approximate vector indexes" in run_cli("optimize", "--help", check=True).stdout
