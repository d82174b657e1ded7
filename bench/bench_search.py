"""Hybrid query latency on large synthetic libraries, beside single-channel latency, in one run.

A library of N synthetic photos is written to a real LanceDB store: clustered 768-d image vectors
with tags, one English caption each (7 content words with COCO-like Zipf frequencies) with a 384-d caption vector,
OCR text on 30% of them, file names and folders, dates, GPS on 30%. Then the real engine
(search_photos: parse, filter, every channel, fusion, explanation of the page) answers queries.
Query encoding is excluded: the image and caption encoders are replaced by a lookup of
precomputed query vectors (queries are near random photos, as real queries land near photos).

Reported per size: the time and memory to load the in-memory search structures, p50/p95 of the
hybrid query (7 channels), of the image channel alone and of the caption-keyword channel alone,
and recall@10 of the approximate image search against an exact scan.

    python bench/bench_search.py --sizes 100000,1000000 --queries 200
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

from shashin.channels import build_channels, search_channels
from shashin.channels.captions import CaptionVectorChannel
from shashin.channels.image import ImageChannel
from shashin.config import load_settings
from shashin.search.engine import SearchOptions, search_photos
from shashin.store import SearchTuning, Store, schema

IMAGE_DIMENSIONS, TEXT_DIMENSIONS = 768, 384
CLUSTERS = 500


class QueryVectors:
    """Stands in for an encoder: hands out precomputed query vectors (encoding is not timed)."""

    def __init__(self, vectors: np.ndarray, name: str) -> None:
        self.vectors, self.name, self.next = vectors, name, 0
        self.loaded = True
        self.max_chunk_chars = 200
        self.device = "cpu"
        self.batch_size = 32

    def identity(self) -> str:
        return self.name

    def load(self) -> None:
        pass

    def take(self) -> np.ndarray:
        vector = self.vectors[self.next % len(self.vectors)]
        self.next += 1
        return vector

    def embed_texts(self, texts: list[str]) -> np.ndarray:  # image text tower: queries and tag prompts
        if len(texts) > 1:
            return np.random.default_rng(0).normal(size=(len(texts), IMAGE_DIMENSIONS)).astype(np.float32)
        return self.take()[None, :]

    def embed_query(self, text: str) -> np.ndarray:  # caption text model
        return self.take()

    def probabilities(self, similarities: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-similarities))


def clustered(rng: np.random.Generator, centres: np.ndarray, labels: np.ndarray, noise: float) -> np.ndarray:
    out = np.empty((len(labels), centres.shape[1]), np.float32)
    for start in range(0, len(labels), 100_000):
        part = centres[labels[start : start + 100_000]]
        part = part + noise * rng.normal(size=part.shape).astype(np.float32)
        out[start : start + len(part)] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


def pseudo_words(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct lower-case letter words ("kabeto"): the tokenizer keeps them whole, as stored."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    found: dict[str, None] = {}
    while len(found) < count:
        for length in rng.integers(4, 10, count):
            found["".join(rng.choice(letters, length))] = None
    return np.array(list(found)[:count])


def words(rng: np.random.Generator, vocabulary: np.ndarray, count: int, per_text: int) -> list[str]:
    """Texts of `per_text` words drawn with Zipf frequencies (exponent 0.8) like the content words
    of COCO captions: the most common word is in about a fifth of them ("man": 15% on coco-cc76)."""
    weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 0.8
    picks = rng.choice(len(vocabulary), size=count * per_text, p=weights / weights.sum())
    return [" ".join(row) for row in vocabulary[picks].reshape(count, per_text)]


def fixed_list(vectors: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])


def _add(store: Store, name: str, rows: pa.Table, column: str) -> None:
    """Add rows as shashin's writers do: one commit, logged for searchers (store/changes.py)."""
    result = store._table(name).add(rows)
    store._wrote(name, column, rows.column(column).to_pylist(), result.version)


def build(db: Path, n: int, rng: np.random.Generator, start: int = 0) -> dict[str, np.ndarray]:
    """Write a synthetic library of n photos (or add n more, numbered from `start`, to one);
    returns what the queries are made from."""
    store = Store(db)
    ids = np.array([f"{i:032x}" for i in range(start, start + n)])
    now = datetime.now(UTC)
    vocabulary = pseudo_words(rng, 30_000)
    taken = np.datetime64("2015-01-01") + rng.integers(0, 365 * 11 * 86400, n).astype("timedelta64[s]")
    located = rng.random(n) < 0.3
    cities = np.array([[35.68, 139.76], [35.01, 135.77], [48.86, 2.35], [40.71, -74.0]])
    where = cities[rng.integers(0, len(cities), n)] + rng.normal(scale=0.05, size=(n, 2))
    photos = pa.table(
        {
            "photo_id": ids,
            "width": np.full(n, 4000, np.int32),
            "height": np.full(n, 3000, np.int32),
            "format": ["JPEG"] * n,
            "taken_at": pa.array(taken.astype("datetime64[s]")),
            "utc_offset": [None] * n,
            "latitude": pa.array(np.where(located, where[:, 0], np.nan), mask=~located),
            "longitude": pa.array(np.where(located, where[:, 1], np.nan), mask=~located),
            "altitude": pa.nulls(n, pa.float64()),
            "camera_make": rng.choice(["Canon", "SONY", "Apple", "FUJIFILM"], n),
            "camera_model": ["model"] * n,
            "lens": [None] * n,
            "thumbnail": [None] * n,
            "indexed_at": pa.array([now] * n, schema.UTC_TIME),
            "pixel_hash": ids,
            "source_hash": ids,
        },
        schema=schema.PHOTOS,
    )
    _add(store, "photos", photos, "photo_id")
    years = taken.astype("datetime64[Y]").astype(str)
    paths = [f"/photos/{y}/IMG_{i:07d}.jpg" for i, y in enumerate(years, start)]
    files = pa.table(
        {
            "path": paths,
            "photo_id": ids,
            "root": ["/photos"] * n,
            "size": np.full(n, 3_000_000),
            "mtime_ns": np.zeros(n, np.int64),
            "terms": [f"img_{i:07d} jpg photos {y}" for i, y in enumerate(years, start)],
            "seen_at": pa.array([now] * n, schema.UTC_TIME),
            "content_hash": ids,
        },
        schema=schema.FILES,
    )
    _add(store, "files", files, "path")

    labels = rng.integers(0, CLUSTERS, n)
    image_centres = rng.normal(size=(CLUSTERS, IMAGE_DIMENSIONS)).astype(np.float32)
    text_centres = rng.normal(size=(CLUSTERS, TEXT_DIMENSIONS)).astype(np.float32)
    image = clustered(rng, image_centres, labels, 0.9 / np.sqrt(IMAGE_DIMENSIONS) * 25)
    caption_vectors = clustered(rng, text_centres, labels, 0.9 / np.sqrt(TEXT_DIMENSIONS) * 18)
    tag_words = vocabulary[:120]
    tag_picks = tag_words[rng.integers(0, 120, (n, 5))]
    tag_type = pa.list_(pa.struct([("en", pa.string()), ("ja", pa.string()), ("score", pa.float32())]))
    image_fields = [
        pa.field("vector", pa.list_(pa.float32(), IMAGE_DIMENSIONS)),
        pa.field("tags", tag_type),
        pa.field("tag_terms", pa.string()),
        pa.field("tags_version", pa.string()),
    ]
    store.ensure_channel("image", image_fields, fts=("tag_terms",))
    common = {
        "photo_id": ids,
        "version": ["bench-image"] * n,
        "status": ["done"] * n,
        "error": [None] * n,
        "updated_at": pa.array([now] * n, schema.UTC_TIME),
    }
    _add(
        store,
        "channel_image",
        pa.table(
            {
                **common,
                "vector": fixed_list(image),
                "tags": pa.array([[]] * n, tag_type),
                "tag_terms": [" ".join(row) for row in tag_picks],
                "tags_version": ["v"] * n,
            },
            schema=schema.channel_schema(image_fields),
        ),
        "photo_id",
    )

    texted = np.flatnonzero(rng.random(n) < 0.3)
    ocr_text = words(rng, vocabulary, len(texted), 4)
    line = pa.struct([("text", pa.string()), ("confidence", pa.float32()), ("box", pa.list_(pa.float32(), 8))])
    ocr_fields = [pa.field("text", pa.string()), pa.field("lines", pa.list_(line)), pa.field("terms", pa.string())]
    store.ensure_channel("ocr", ocr_fields, fts=("terms",))
    m = len(texted)
    _add(
        store,
        "channel_ocr",
        pa.table(
            {
                "photo_id": ids[texted],
                "version": ["bench-ocr"] * m,
                "status": ["done"] * m,
                "error": [None] * m,
                "updated_at": pa.array([now] * m, schema.UTC_TIME),
                "text": ocr_text,
                "lines": pa.array([[]] * m, pa.list_(line)),
                "terms": ocr_text,
            },
            schema=schema.channel_schema(ocr_fields),
        ),
        "photo_id",
    )

    captions = words(rng, vocabulary, n, 7)
    caption_ids = [f"{pid}:brief:en" for pid in ids]
    _add(
        store,
        "captions",
        pa.table(
            {
                "caption_id": caption_ids,
                "photo_id": ids,
                "prompt_set": ["brief"] * n,
                "lang": ["en"] * n,
                "text": captions,
                "raw": captions,
                "terms": captions,
                "status": ["done"] * n,
                "error": [None] * n,
                "source": ["imported"] * n,
                "backend": ["import"] * n,
                "model": [None] * n,
                "prompt": [None] * n,
                "params": [None] * n,
                "version": ["bench-caption"] * n,
                "created_at": pa.array([now] * n, schema.UTC_TIME),
            },
            schema=schema.CAPTIONS,
        ),
        "caption_id",
    )
    store.ensure_caption_chunks(TEXT_DIMENSIONS)
    _add(
        store,
        "caption_chunks",
        pa.table(
            {
                "chunk_id": [f"{c}#0" for c in caption_ids],
                "caption_id": caption_ids,
                "photo_id": ids,
                "caption_version": ["bench-caption"] * n,
                # As the caption-vector channel names what its model wrote (else it finds nothing).
                "version": [CaptionVectorChannel(QueryVectors(np.zeros((1, 1)), "bench-e5")).version()] * n,  # type: ignore[arg-type]
                "text": captions,
                "vector": fixed_list(caption_vectors),
            },
            schema=schema.caption_chunks_schema(TEXT_DIMENSIONS),
        ),
        "photo_id",
    )
    return {"image": image, "captions": caption_vectors, "labels": labels, "texts": np.array(captions, dtype=object)}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms"


def run(n: int, queries: int, root: Path, ann_min_rows: int) -> None:
    rng = np.random.default_rng(n)
    db = root / f"lib-{n}"
    shutil.rmtree(db, ignore_errors=True)
    started = time.perf_counter()
    data = build(db, n, rng)
    print(f"\n{n:,} photos: written in {time.perf_counter() - started:.0f} s")

    picks = rng.integers(0, n, queries)
    noise = lambda d: 0.35 * rng.normal(size=(queries, d)).astype(np.float32) / np.sqrt(d)  # noqa: E731
    image_queries = data["image"][picks] + noise(IMAGE_DIMENSIONS)
    text_queries = data["captions"][picks] + noise(TEXT_DIMENSIONS)
    texts = [" ".join(str(data["texts"][i]).split()[:3]) for i in picks]  # three words of the photo's caption
    del data  # what stays in memory from here on is the searcher's

    settings = load_settings({"db": str(db), "search.ann_min_rows": str(ann_min_rows)})
    # Side by side: what shipped before issue 15 (rank fusion, OCR words matched exactly only).
    before_settings = load_settings(
        {"db": str(db), "search.ann_min_rows": str(ann_min_rows), "search.fusion": "rrf", "ocr.tolerant": "false"}
    )
    store = Store(db, create=False)
    store.search_tuning = SearchTuning(ann_min_rows, 0)
    image_vectors = QueryVectors(image_queries, "bench-image")
    caption_vectors = QueryVectors(text_queries, "bench-e5")

    def searchers(chosen):  # type: ignore[no-untyped-def]
        made = search_channels(build_channels(chosen))
        picture = next(c for c in made if isinstance(c, ImageChannel))
        picture.model = image_vectors  # type: ignore[assignment]
        picture._tag_vectors = np.zeros((1, IMAGE_DIMENSIONS), np.float32)
        next(c for c in made if isinstance(c, CaptionVectorChannel)).embedder = caption_vectors  # type: ignore[assignment]
        return made, picture

    channels, image = searchers(settings)
    before_channels, _ = searchers(before_settings)

    before = rss_mb()
    started = time.perf_counter()
    search_photos(store, channels, texts[0], settings.search, SearchOptions(limit=20))
    load = time.perf_counter() - started
    print(
        f"  in-memory structures: loaded in {load:.1f} s, {rss_mb() - before:,.0f} MB "
        f"(approximate image search: {n >= ann_min_rows > 0})"
    )

    def timed(selected: list, use_text: bool, chosen=settings) -> list[float]:  # type: ignore[type-arg, no-untyped-def]
        image_vectors.next = caption_vectors.next = 0
        times = []
        for text in texts:
            started = time.perf_counter()
            search_photos(
                store, selected, text if use_text else "photo", chosen.search, SearchOptions(limit=20, parse=False)
            )
            times.append(time.perf_counter() - started)
        return times

    keyword = [c for c in channels if c.name == "caption"]
    timed(before_channels, True, before_settings)  # builds the OCR pieces index once, as a first query would
    hybrid = timed(channels, True)
    previous = timed(before_channels, True, before_settings)
    print(f"  hybrid as before issue 15 (rank fusion, exact OCR words only): {percentiles(previous)}")
    print(f"  hybrid as shipped ÷ as before (p50): {np.median(hybrid) / np.median(previous):.2f}×")
    only_image = timed([image], True)
    only_keywords = timed(keyword, True)
    print(f"  hybrid, {len(channels)} channels:  {percentiles(hybrid)}")
    print(
        f"  image vectors only:   {percentiles(only_image)}  (hybrid/image p50 {np.median(hybrid) / np.median(only_image):.1f}×)"
    )
    print(f"  caption keywords only: {percentiles(only_keywords)}")

    # The search box's syntax (issue 21): the same words read as written, with an exclusion of a word
    # of another photo's caption, and as two alternatives; parsed as a user's query is. The three
    # forms of each query run one after another, so a noisy moment weighs on all three alike.
    others = texts[1:] + texts[:1]
    forms = {
        "parsed": lambda text, other: text,
        "excluded": lambda text, other: f"{text} -{other.split()[0]}",
        "either": lambda text, other: f"{' '.join(text.split()[:2])} OR {' '.join(other.split()[:2])}",
    }
    syntax: dict[str, list[float]] = {}
    for _ in range(2):  # the first round warms what each form reads
        syntax = {name: [] for name in forms}
        for number, (text, other) in enumerate(zip(texts, others, strict=True)):
            for name, make in forms.items():
                image_vectors.next = caption_vectors.next = number  # each form asks with the same vectors
                started = time.perf_counter()
                search_photos(store, channels, make(text, other), settings.search, SearchOptions(limit=20))
                syntax[name].append(time.perf_counter() - started)
    parsed, excluded, either = syntax["parsed"], syntax["excluded"], syntax["either"]
    print(f"  parsed query (today's):  {percentiles(parsed)}")
    print(
        f"  with an exclusion:       {percentiles(excluded)}  ({np.median(excluded) / np.median(parsed):.2f}× p50; goal ≤ 1.2×)"
    )
    print(
        f"  two alternatives (OR):   {percentiles(either)}  ({np.median(either) / np.median(parsed):.2f}× p50; goal ≤ 1.4×)"
    )

    index = store._vector_index("channel_image", "vector", "photo_id", "status = 'done' AND version = 'bench-image'")
    exact_matrix = index.matrix
    recall = []
    for q in image_queries[:100]:
        approximate = {row for row, _ in index.search(q, 10)}
        scores = exact_matrix @ (q / np.linalg.norm(q))
        truth = set(index._row_at[np.argpartition(-scores, 10)[:10]].tolist())
        recall.append(len(approximate & truth) / 10)
    print(f"  image recall@10 vs exact scan: {np.mean(recall):.3f} (nprobe {index.ivf.nprobe if index.ivf else '-'})")
    print(f"  process memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB peak")
    shutil.rmtree(db, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="library sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ann-min-rows", type=int, default=50_000, help="as the search.ann_min_rows setting")
    parser.add_argument("--dir", default="", help="where to write the libraries (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="shashin-bench-search-"))
    print(f"{os.cpu_count()} cores; libraries under {root}")
    for n in (int(s) for s in args.sizes.split(",")):
        run(n, args.queries, root, args.ann_min_rows)


if __name__ == "__main__":
    main()
