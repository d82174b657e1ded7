"""Vector search at 1M and 10M photos: the on-disk index `shashin optimize` builds, beside the
in-memory search, measured in one run.

A real LanceDB store gets N synthetic photos: clustered 768-d image vectors (500 clusters, as
photos of the same kinds of things are) and, with --text, one 7-word caption each. Vectors are
written in chunks; the exact top-10 of every query is kept while they are generated, so recall is
measured against a brute-force scan of all N without holding them in memory.

Reported per size: write time and size on disk; `Store.build_vector_indexes` (what optimize runs):
index kind, build time and peak memory; then queries through the real `Store.search_vectors`
(the image channel's call): p50/p95 latency and recall@10 through the on-disk index, and — where
the vectors fit in memory (--memory) — the same through the in-memory inverted file, with the
load time and memory of each. With --text, BM25 over the captions from memory beside it.

    python bench/bench_scale.py --rows 1000000 --memory --text
    python bench/bench_scale.py --rows 10000000 --refine 50,200   # ~31 GB of vectors on disk
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from bench_search import rss_mb
from shashin.store import SearchTuning, Store, schema

DIMENSIONS, CLUSTERS, CHUNK = 768, 500, 250_000
VERSION = "bench-image"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Make ru_maxrss-style peaks measurable per phase (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_mb()


def disk_gb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def ms(times: list[float]) -> str:
    values = np.array(times) * 1000
    return f"p50 {np.percentile(values, 50):6.1f} ms  p95 {np.percentile(values, 95):6.1f} ms"


def write(store: Store, n: int, queries: np.ndarray, rng: np.random.Generator, text: bool) -> list[list[str]]:
    """Write n photos in chunks; return the exact top-10 photo ids of each query."""
    centres = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)
    noise = 0.9 / np.sqrt(DIMENSIONS) * 25
    fields = [pa.field("vector", pa.list_(pa.float32(), DIMENSIONS))]
    store.ensure_channel("image", fields)
    table = store._table("channel_image")
    channel_schema = schema.channel_schema(fields)
    now = pa.array([datetime.now(UTC)], schema.UTC_TIME)[0]
    vocabulary = np.array([f"w{i}" for i in range(30_000)])
    weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 0.8
    weights /= weights.sum()
    best_scores = np.full((len(queries), 10), -np.inf, np.float32)
    best_rows = np.zeros((len(queries), 10), np.int64)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        labels = rng.integers(0, CLUSTERS, size)
        vectors = centres[labels] + noise * rng.normal(size=(size, DIMENSIONS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = np.array([f"{i:032x}" for i in range(start, start + size)])
        table.add(
            pa.table(
                {
                    "photo_id": ids,
                    "version": pa.array([VERSION] * size),
                    "status": pa.array(["done"] * size),
                    "error": pa.nulls(size, pa.string()),
                    "updated_at": pa.array([now.as_py()] * size, schema.UTC_TIME),
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIMENSIONS),
                },
                schema=channel_schema,
            )
        )
        if text:
            picks = vocabulary[rng.choice(len(vocabulary), size=size * 7, p=weights)].reshape(size, 7)
            captions = [" ".join(row) for row in picks]
            caption_ids = [f"{pid}:brief:en" for pid in ids]
            store._table("captions").add(
                pa.table(
                    {
                        "caption_id": caption_ids,
                        "photo_id": ids,
                        "prompt_set": ["brief"] * size,
                        "lang": ["en"] * size,
                        "text": captions,
                        "raw": captions,
                        "terms": captions,
                        "status": ["done"] * size,
                        "error": [None] * size,
                        "source": ["imported"] * size,
                        "backend": ["import"] * size,
                        "model": [None] * size,
                        "prompt": [None] * size,
                        "params": [None] * size,
                        "version": ["bench"] * size,
                        "created_at": pa.array([now.as_py()] * size, schema.UTC_TIME),
                    },
                    schema=schema.CAPTIONS,
                )
            )
        scores = queries @ vectors.T  # exact top-10 so far, merged chunk by chunk
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], axis=1)
        merged_rows = np.concatenate([best_rows, top + start], axis=1)
        keep = np.argsort(-merged_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(merged_scores, keep, 1)
        best_rows = np.take_along_axis(merged_rows, keep, 1)
        print(f"  wrote {start + size:,} / {n:,}", end="\r", flush=True)
    print()
    return [[f"{row:032x}" for row in rows] for rows in best_rows]


def timed_search(store: Store, queries: np.ndarray, exact: list[list[str]]) -> tuple[list[float], float]:
    times, found = [], 0
    for query, truth in zip(queries, exact):
        started = time.perf_counter()
        hits = store.search_vectors("image", "vector", query, limit=10, version=VERSION)
        times.append(time.perf_counter() - started)
        found += len({pid for pid, _ in hits} & set(truth))
    return times, found / (10 * len(queries))


def run(n: int, queries_count: int, root: Path, memory: bool, text: bool, refines: list[int]) -> None:
    rng = np.random.default_rng(n)
    db = root / f"db-{n}"
    store = Store(db)
    centres_rng = np.random.default_rng(n)  # queries land near photos: cluster centres + noise, like `write`
    centres = centres_rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)
    queries = centres[rng.integers(0, CLUSTERS, queries_count)] + rng.normal(
        scale=0.9 / np.sqrt(DIMENSIONS) * 25, size=(queries_count, DIMENSIONS)
    ).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    started = time.monotonic()
    exact = write(store, n, queries, np.random.default_rng(n), text)
    print(f"{n:,} photos: written in {time.monotonic() - started:.0f} s, {disk_gb(db):.1f} GB on disk")

    reset_peak()
    base = rss_mb()
    started = time.monotonic()
    report = store.build_vector_indexes(min_rows=1)[0]
    print(
        f"  optimize: {report.kind} ({report.action}) in {time.monotonic() - started:.0f} s, "
        f"peak +{hwm_mb() - base:,.0f} MB, library {disk_gb(db):.1f} GB"
    )

    for refine in refines:  # IVF_PQ re-ranks refine × 10 candidates on exact vectors (HNSW_SQ ignores it)
        store = Store(db, create=False)
        store.search_tuning = SearchTuning(memory_max_rows=1, refine=refine)  # every table through its on-disk index
        base = rss_mb()
        started = time.monotonic()
        store.search_vectors("image", "vector", queries[0], limit=10, version=VERSION)
        opened = time.monotonic() - started
        store.search_vectors("image", "vector", queries[1], limit=10, version=VERSION)  # first partitions cached
        times, recall = timed_search(store, queries, exact)
        label = f"on-disk index (refine {refine})" if report.kind == "IVF_PQ" else "on-disk index"
        print(f"  {label}:  {ms(times)}  recall@10 {recall:.3f}  (open {opened:.1f} s, +{rss_mb() - base:,.0f} MB)")
        if report.kind != "IVF_PQ":
            break

    if memory and n * DIMENSIONS * 4 > 0.4 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"):
        print(f"  in memory: skipped ({n * DIMENSIONS * 4 / 1e9:.0f} GB of vectors would not fit comfortably)")
    elif memory:
        store = Store(db, create=False)
        store.search_tuning = SearchTuning(memory_max_rows=0)
        reset_peak()
        base = rss_mb()
        started = time.monotonic()
        store.search_vectors("image", "vector", queries[0], limit=10, version=VERSION)
        loaded = time.monotonic() - started
        times_memory, recall_memory = timed_search(store, queries, exact)
        print(
            f"  in memory (IVF): {ms(times_memory)}  recall@10 {recall_memory:.3f}  (load {loaded:.0f} s, "
            f"+{rss_mb() - base:,.0f} MB)"
        )
        print(f"  ratio on-disk / in-memory p50: {np.median(times) / np.median(times_memory):.2f}")
    if text:
        base = rss_mb()
        started = time.monotonic()
        store.search_captions(["w1"], limit=10)
        loaded = time.monotonic() - started
        word_picks = np.random.default_rng(1).integers(0, 3_000, (queries_count, 2))
        times_text = []
        for a, b in word_picks:
            started = time.perf_counter()
            store.search_captions([f"w{a}", f"w{b}"], limit=10)
            times_text.append(time.perf_counter() - started)
        print(f"  caption BM25 from memory: {ms(times_text)}  (load {loaded:.0f} s, +{rss_mb() - base:,.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000000", help="comma-separated library sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--memory", action="store_true", help="also search from memory (needs ~4 GB per 1M rows)")
    parser.add_argument("--text", action="store_true", help="also write captions and time BM25 from memory")
    parser.add_argument("--refine", default="50", help="IVF_PQ refine factors to measure, comma-separated (default 50)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the libraries (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the libraries")
    args = parser.parse_args()
    os.environ.setdefault("LANCEDB_LOG", "error")
    root = Path(tempfile.mkdtemp(prefix="shashin-scale-", dir=args.dir))
    print(f"bench_scale: {os.cpu_count()} cores, {DIMENSIONS}-d vectors, {CLUSTERS} clusters, {args.queries} queries")
    try:
        for n in (int(value) for value in args.rows.split(",")):
            run(n, args.queries, root, args.memory, args.text, [int(r) for r in args.refine.split(",")])
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
