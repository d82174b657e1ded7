"""Approximate vector search on disk (or object storage): LanceDB indexes built by `shashin optimize`.

Below `SearchTuning.memory_max_rows` a vector table is searched from memory (store.memory). Larger
tables (10M photos × 768 floats is 31 GB) are searched through a Lance index instead, whose
partitions Lance caches in memory after the first queries (and `prewarm`s when the store opens it):
IVF_HNSW_SQ while its 8-bit vectors fit comfortably (≤ 5M rows: recall ≈ 0.97 at a few ms), IVF_PQ
with re-ranking of the best candidates on exact vectors (refine) beyond that, where HNSW graphs
and SQ codes outgrow a query node's memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from shashin.store.memory import PhotoSet

HNSW_MAX_ROWS = 5_000_000  # above this: IVF_PQ + refine
STALE_SHARE = 0.25  # retrain when the index covers less than 1 / (1 + this) of the rows
EXACT_WITHIN = 5_000  # a filter this selective is answered exactly from its own rows


@dataclass(frozen=True)
class IndexPlan:
    """Which index a vector column gets, and why (for `shashin optimize`'s report)."""

    kind: str  # IVF_HNSW_SQ | IVF_PQ
    partitions: int
    sub_vectors: int = 0

    def config(self) -> Any:
        from lancedb.index import IvfHnswSq, IvfPq

        if self.kind == "IVF_HNSW_SQ":
            return IvfHnswSq(distance_type="cosine", num_partitions=self.partitions)
        return IvfPq(distance_type="cosine", num_partitions=self.partitions, num_sub_vectors=self.sub_vectors)


def plan(rows: int, dimensions: int) -> IndexPlan:
    """The index for `rows` vectors of `dimensions`.

    IVF_HNSW_SQ: few large partitions (~50k rows each), each searched by its HNSW graph — measured
    on 300k clustered 768-d vectors: 8 partitions, 4 probed, recall@10 0.94 at 5 ms; all 8, 0.97 at
    6 ms (the 8-bit codes' ceiling). IVF_PQ: ~√n partitions of PQ codes (dimensions/16 bytes a
    vector), a 1/32 of them probed and the best candidates re-ranked on exact vectors. Measured on 1M
    clustered 768-d vectors whose 10th and 100th neighbours are nearly as close (cosine 0.647 vs
    0.631), 1,000 partitions, 20 probed: dims/16 bytes + refine 50 → recall@10 0.86; dims/8 bytes +
    refine 10 → 0.74, + refine 50 → 0.98 at 10 ms, + refine 200 → 1.00 at 24 ms. At 10M (3,162
    partitions, 98 probed, 2 cores, vectors beyond the page cache): refine 50 → 0.66 at 128 ms,
    200 → 0.87 at 148 ms, 1000 → 0.99 at 259 ms (bench/bench_scale.py)."""
    if rows <= HNSW_MAX_ROWS:
        return IndexPlan("IVF_HNSW_SQ", max(1, round(rows / 50_000)))
    sub_vectors = next(s for s in (dimensions // 8, dimensions // 4, dimensions // 2, 1) if s and dimensions % s == 0)
    return IndexPlan("IVF_PQ", max(1, int(math.sqrt(rows))), sub_vectors)


def default_nprobe(chosen: IndexPlan) -> int:
    """Partitions probed per query: half of HNSW's few large ones; a 1/32 (at least 20) of IVF_PQ's."""
    if chosen.kind == "IVF_HNSW_SQ":
        return max(1, min(chosen.partitions, max(4, math.ceil(chosen.partitions / 2))))
    return min(chosen.partitions, max(20, chosen.partitions // 32))


def vector_index(table: Any, column: str) -> Any | None:
    """The table's vector index on `column`, or None."""
    for index in table.list_indices():
        if list(index.columns) == [column] and index.index_type.upper().startswith(("IVF", "HNSW")):
            return index
    return None


def coverage(table: Any, index: Any) -> tuple[int, int]:
    """(indexed rows, not yet indexed rows) of an index."""
    stats = table.index_stats(index.name)
    return int(stats.num_indexed_rows), int(stats.num_unindexed_rows)


class DiskVectorIndex:
    """Nearest rows of one vector column through its Lance index, with the table's filter (`where`)."""

    def __init__(
        self, table: Any, column: str, key: str, where: str | None, rows: int, *, nprobe: int, refine: int, hnsw: bool
    ) -> None:
        self.table, self.column, self.key, self.where = table, column, key, where
        self.rows = rows
        self.nprobe = nprobe
        self.refine = refine
        self.hnsw = hnsw

    def __len__(self) -> int:
        return self.rows

    def nearest(self, vector: Any, limit: int, *, within: PhotoSet | None = None) -> list[tuple[str, str, float]]:
        """(key, photo id, cosine similarity), best first; exact inside a selective `within`."""
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        if within is not None and len(within) <= EXACT_WITHIN:
            return self._exact(query, limit, within)
        fetch = limit
        if within is not None and len(within):
            fetch = min(limit * 50, max(limit, int(limit * self.rows / len(within) * 2)))
        builder = (
            self.table.search(query, vector_column_name=self.column)
            .distance_type("cosine")
            .select(list(dict.fromkeys([self.key, "photo_id"])))
            .limit(fetch)
        )
        if self.where:
            builder = builder.where(self.where, prefilter=True)
        if self.nprobe:
            builder = builder.nprobes(self.nprobe)
        if self.hnsw:
            builder = builder.ef(max(100, fetch))  # the graph's candidate list: recall 0.85 → 0.97 at 300k
        if self.refine:
            builder = builder.refine_factor(self.refine)
        found = builder.to_arrow()
        keys, photos = found.column(self.key).to_pylist(), found.column("photo_id").to_pylist()
        scores = 1.0 - found.column("_distance").to_numpy(zero_copy_only=False)
        hits = list(zip(keys, photos, scores.astype(float).tolist()))
        if within is not None:
            allowed = set(within.ids())
            hits = [hit for hit in hits if hit[1] in allowed]
        return hits[:limit]

    def nearest_per_photo(
        self, vector: Any, limit: int, *, pool: int, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float]]:
        """(key, photo id, similarity) of each photo's nearest row, for the `limit` nearest photos."""
        best: dict[str, tuple[str, str, float]] = {}
        for key, photo, score in self.nearest(vector, limit * pool, within=within):
            best.setdefault(photo, (key, photo, score))  # best first: a photo's first row is its nearest
        return list(best.values())[:limit]

    def _exact(self, query: np.ndarray, limit: int, within: PhotoSet) -> list[tuple[str, str, float]]:
        ids = within.ids()
        if not ids:
            return []
        parts = []
        for start in range(0, len(ids), 500):
            chunk = ", ".join("'" + i.replace("'", "''") + "'" for i in ids[start : start + 500])
            parts.append(
                self.table.search()
                .where(f"({self.where}) AND photo_id IN ({chunk})" if self.where else f"photo_id IN ({chunk})")
                .select(list(dict.fromkeys([self.key, "photo_id", self.column])))
                .limit(None)
                .to_arrow()
            )
        keys = [k for part in parts for k in part.column(self.key).to_pylist()]
        photos = [p for part in parts for p in part.column("photo_id").to_pylist()]
        if not keys:
            return []
        matrix = np.concatenate(
            [
                part.column(self.column)
                .combine_chunks()
                .flatten()
                .to_numpy(zero_copy_only=False)
                .reshape(len(part), -1)
                for part in parts
                if len(part)
            ]
        ).astype(np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        scores = matrix @ query
        best = np.argsort(-scores)[:limit]
        return [(keys[i], photos[i], float(scores[i])) for i in best]
