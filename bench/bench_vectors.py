"""Vector search structures side by side on the same vectors and queries: which one shashin keeps.

The vectors are bench_instant's synthetic library (image 768-d, caption 384-d, clustered as
photos are); the queries its 400 query vectors. Each structure answers the top-200 (the depth a
channel hands to fusion) with one thread, and is measured on:
CPU per query (median, after a pass over the queries that is not counted), recall@10 and recall@200 against an exact float32 scan, build seconds,
bytes on disk, and the memory its queries touched (resident pages of the mapped files).

- exact: one float32 matrix product over every vector (the reference);
- shashin IVF float32: shashin's inverted file as it shipped before (store/memory.VectorIndex);
- shashin IVF int8 + re-rank: the same lists over int8 codes, the best candidates re-scored on
  the float32 vectors (what shashin keeps; store/quantized.py);
- usearch HNSW (f32, i8), faiss HNSW32 and IVF-SQ8 + re-rank: from their wheels (pip install usearch faiss-cpu),
  saved to a file and opened memory-mapped as shashin would.

    python bench/bench_vectors.py --dir /var/tmp/shashin-bench [--size 100000]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DEPTH = 200


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ matrix.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
    return np.take_along_axis(top, order, 1)


def recall(found: list[np.ndarray], truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def resident_mb(folder: Path) -> float:
    """Resident pages of this process's mappings of files under `folder`, in MB."""
    total = 0
    current = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", parts[0]):
            current = parts[5] if len(parts) >= 6 else ""
        elif parts and parts[0] == "Rss:" and current.startswith(str(folder)):
            total += int(parts[1])
    return total / 1024


def measure(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[float, list[np.ndarray]]:
    for q in queries:  # once not counted: the files read in (steady state, as a server runs)
        search(q)
    times, found = [], []
    for q in queries:
        started = time.process_time()
        found.append(search(q))
        times.append(time.process_time() - started)
    return 1000 * statistics.median(times), found


def shashin_ivf(vectors: np.ndarray, folder: Path, quantized: bool) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    from shashin.store.memory import VectorIndex
    from shashin.store.persisted import SearchCache

    keys = np.array([f"{i:08d}".encode() for i in range(len(vectors))])
    index = VectorIndex(keys, keys, vectors, ann_min_rows=1, quantize=quantized)
    cache = SearchCache(folder / "ivf")
    cache.save("vectors", ("bench",), 1, index.arrays())
    arrays = cache.open("vectors", ("bench",), 1)
    assert arrays is not None
    opened = VectorIndex.opened(arrays)
    size = sum(f.stat().st_size for f in (folder / "ivf").rglob("*") if f.is_file())
    return lambda q: np.array([row for row, _ in opened.search(q, DEPTH)]), size


def usearch_hnsw(vectors: np.ndarray, folder: Path, dtype: str) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    from usearch.index import Index

    index = Index(ndim=vectors.shape[1], metric="cos", dtype=dtype, connectivity=16, expansion_add=128)
    index.add(np.arange(len(vectors)), vectors, threads=os.cpu_count() or 1)
    path = folder / f"usearch-{dtype}.bin"
    index.save(str(path))
    viewed = Index.restore(str(path), view=True)
    viewed.expansion_search = 2 * DEPTH
    return lambda q: np.asarray(viewed.search(q, DEPTH, threads=1).keys), path.stat().st_size


def faiss_index(vectors: np.ndarray, folder: Path, kind: str) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    import faiss

    dims = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dims, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(vectors)
    else:
        lists = int(np.sqrt(len(vectors)))
        quantizer = faiss.IndexFlatIP(dims)
        inner = faiss.IndexIVFScalarQuantizer(
            quantizer, dims, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        inner.nprobe = max(8, lists // 16)
        index = faiss.IndexRefineFlat(inner)
        index.train(vectors)
        index.add(vectors)
        index.k_factor = 2.0
    path = folder / f"faiss-{kind}.bin"
    faiss.write_index(index, str(path))
    opened = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    if kind == "hnsw":
        opened.hnsw.efSearch = 2 * DEPTH
    else:
        faiss.downcast_index(opened.base_index).nprobe = max(8, int(np.sqrt(len(vectors))) // 16)
    faiss.omp_set_num_threads(1)
    return lambda q: opened.search(q[None, :], DEPTH)[1][0], path.stat().st_size


Made = tuple[Callable[[np.ndarray], np.ndarray], int]  # a search (query -> rows, best first), bytes on disk


def structures(vectors: np.ndarray) -> list[tuple[str, Callable[[Path], Made]]]:
    """Each structure compared, as a name and how to build it in a folder."""
    return [
        ("exact float32 scan", lambda f: (lambda q: exact_top(vectors, q[None, :], DEPTH)[0], vectors.nbytes)),
        ("shashin IVF float32 (before)", lambda f: shashin_ivf(vectors, f, False)),
        ("shashin IVF int8 + re-rank", lambda f: shashin_ivf(vectors, f, True)),
        ("usearch HNSW f32", lambda f: usearch_hnsw(vectors, f, "f32")),
        ("usearch HNSW i8", lambda f: usearch_hnsw(vectors, f, "i8")),
        ("faiss HNSW32 flat", lambda f: faiss_index(vectors, f, "hnsw")),
        ("faiss IVF-SQ8 + re-rank", lambda f: faiss_index(vectors, f, "ivfsq")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="where bench_instant keeps its synthetic libraries")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only", default="", help="structures whose names contain one of these words")
    args = parser.parse_args()
    from bench_instant import library
    from bench_peers import Data
    from shashin.threads import blas_threads

    blas_threads(1)
    data = Data(library(Path(args.dir), args.size))
    wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    print(f"{os.cpu_count()} cores, one thread per query; {len(data.ids):,} vectors; top-{DEPTH}")
    for label, vectors, queries in (
        ("image 768-d", data.image, data.q_image),
        ("caption 384-d", data.text, data.q_text),
    ):
        queries = queries[: args.queries]
        truth = exact_top(vectors, queries, DEPTH)
        print(f"\n  {label:34} {'CPU ms':>7} {'R@10':>6} {'R@200':>6} {'build s':>8} {'disk MB':>8} {'touched MB':>11}")
        makers = structures(vectors)
        for name, make in makers:
            if wanted and not any(w in name.lower() for w in wanted) and not name.startswith("exact"):
                continue
            with tempfile.TemporaryDirectory(prefix="shashin-vectors-", dir=args.dir) as scratch:
                folder = Path(scratch)
                started = time.perf_counter()
                try:
                    search, size = make(folder)
                except ImportError as exc:
                    print(f"  {name:34} skipped: {exc}")
                    continue
                built = time.perf_counter() - started
                cpu, found = measure(search, queries)
                touched = resident_mb(folder)
                print(
                    f"  {name:34} {cpu:7.2f} {recall(found, truth, 10):6.3f} {recall(found, truth, DEPTH):6.3f}"
                    f" {built:8.1f} {size / 1e6:8.1f} {touched:11.1f}",
                    flush=True,
                )
                del search
                gc.collect()


if __name__ == "__main__":
    main()
