"""shashin beside the engines a self-hoster would otherwise pick, on the same data and queries.

The library is bench_instant's synthetic one (100k photos by default: 768-d image vectors, one
caption each with a 384-d vector). Every engine answers the same hybrid query: image vectors
top-200 + caption vectors top-200 + caption BM25 top-200, fused by reciprocal rank (k = 60),
a page of 20 photo ids. After one round that is not counted (each engine's files read in), reported
per round (every engine measured once per round, in turn, so a noisy moment weighs on all alike,
with the machine's load average): CPU per query (every thread of
this process, plus the server process's for PostgreSQL), shashin ÷ PostgreSQL; then medians over
the rounds, wall time and each engine's overlap with shashin's page.

- shashin: search_photos with the same three channels, and with all seven (explained page);
- numpy + tantivy: exact vector scans, tantivy BM25 (pip install tantivy);
- numpy + SQLite FTS5 (Python's own sqlite3);
- DuckDB + vss (HNSW) + fts (pip install duckdb duckdb-extension-vss duckdb-extension-fts);
- PostgreSQL + pgvector (HNSW + GIN, RRF in SQL): when `initdb`, `postgres` and the `vector`
  extension are on this machine (pip install 'psycopg[binary]'); else skipped with the reason.
Install the peers with: pip install -c constraints.txt -e '.[bench]'

    python bench/bench_peers.py --dir /var/tmp/shashin-bench [--size 100000] [--rounds 5] [--queries 100]

PostgreSQL's table and indexes are kept beside the library (`pg-<size>`): a rerun skips the
minutes their HNSW indexes take to build.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DEPTH, PAGE, RRF_K = 200, 20, 60


def rrf(*rankings: list[str]) -> list[str]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda key: -scores[key])[:PAGE]


class Data:
    """Vectors, captions and queries read back from the synthetic library."""

    def __init__(self, db: Path) -> None:
        from shashin.store import Store

        store = Store(db, create=False)
        image = store._scan("channel_image", ["photo_id", "vector"]).sort_by("photo_id")
        chunks = store._scan("caption_chunks", ["photo_id", "vector", "text"]).sort_by("photo_id")
        self.ids = [str(v) for v in image.column("photo_id").to_pylist()]
        assert self.ids == chunks.column("photo_id").to_pylist()
        self.image = _unit(np.stack(image.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32))
        self.text = _unit(np.stack(chunks.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32))
        self.captions = [str(t) for t in chunks.column("text").to_pylist()]
        queries = np.load(db / "queries.npz")
        self.q_image, self.q_text = _unit(queries["image"]), _unit(queries["text"])
        self.q_words = [str(w) for w in queries["words"]]


def _unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def _top(matrix: np.ndarray, query: np.ndarray, ids: list[str]) -> list[str]:
    scores = matrix @ query
    best = np.argpartition(-scores, DEPTH)[:DEPTH]
    return [ids[i] for i in best[np.argsort(-scores[best])]]


def measure(one: Callable[[int], list[str]], queries: int, server_cpu: Callable[[], float] | None = None):
    """Median CPU and wall (ms) of `one(i)` over the queries after two warm-up ones, and the pages."""
    one(0), one(1)
    cpus, walls, pages = [], [], []
    for i in range(queries):
        extra = server_cpu() if server_cpu else 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        pages.append(one(i))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu + ((server_cpu() - extra) if server_cpu else 0.0))
    return 1000 * statistics.median(cpus), 1000 * statistics.median(walls), pages


def shashin_engine(db: Path, data: Data, seven: bool) -> Callable[[int], list[str]]:
    from bench_search import IMAGE_DIMENSIONS, QueryVectors
    from shashin.channels import build_channels, search_channels
    from shashin.channels.captions import CaptionChannel, CaptionVectorChannel
    from shashin.channels.image import ImageChannel
    from shashin.config import load_settings
    from shashin.search.engine import SearchOptions, search_photos
    from shashin.store import SearchTuning, Store

    # The three-channel case fuses as the peers do (plain RRF); seven channels run as shipped.
    overrides = {"search.fusion": "rrf", "search.rrf_k": str(RRF_K), "search.exact_first": "false"}
    settings = load_settings({"db": str(db), **({} if seven else overrides)})
    store = Store(db, create=False)
    store.search_tuning = SearchTuning(settings.search.ann_min_rows, 0)
    images, texts = QueryVectors(data.q_image, "bench-image"), QueryVectors(data.q_text, "bench-e5")
    channels = search_channels(build_channels(settings))
    image = next(c for c in channels if isinstance(c, ImageChannel))
    image.model = images  # type: ignore[assignment]
    image._tag_vectors = np.zeros((1, IMAGE_DIMENSIONS), np.float32)
    next(c for c in channels if isinstance(c, CaptionVectorChannel)).embedder = texts  # type: ignore[assignment]
    if not seven:
        channels = [c for c in channels if isinstance(c, ImageChannel | CaptionVectorChannel | CaptionChannel)]

    def one(i: int) -> list[str]:
        images.next = texts.next = i
        options = SearchOptions(limit=PAGE, parse=False)
        return [r.photo_id for r in search_photos(store, channels, data.q_words[i], settings.search, options).results]

    return one


def tantivy_engine(data: Data) -> Callable[[int], list[str]]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("caption", stored=False)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer()
    for key, caption in zip(data.ids, data.captions):
        writer.add_document(tantivy.Document(id=key, caption=caption))
    writer.commit()
    index.reload()
    searcher = index.searcher()

    def one(i: int) -> list[str]:
        query = index.parse_query(data.q_words[i], ["caption"])
        found = searcher.search(query, DEPTH).hits
        words = [searcher.doc(address)["id"][0] for _, address in found]
        return rrf(_top(data.image, data.q_image[i], data.ids), _top(data.text, data.q_text[i], data.ids), words)

    return one


def sqlite_engine(data: Data) -> Callable[[int], list[str]]:
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE captions USING fts5(id UNINDEXED, caption)")
    db.executemany("INSERT INTO captions VALUES (?, ?)", zip(data.ids, data.captions))

    def one(i: int) -> list[str]:
        match = " OR ".join(f'"{w}"' for w in data.q_words[i].split())
        words = [row[0] for row in db.execute(
            "SELECT id FROM captions WHERE captions MATCH ? ORDER BY bm25(captions) LIMIT ?", (match, DEPTH)
        )]  # fmt: skip
        return rrf(_top(data.image, data.q_image[i], data.ids), _top(data.text, data.q_text[i], data.ids), words)

    return one


def duckdb_engine(data: Data, folder: Path) -> Callable[[int], list[str]]:
    import duckdb
    import pyarrow as pa

    db = duckdb.connect(str(folder / "peers.duckdb"))
    for extension in ("vss", "fts"):  # from their PyPI packages: no download at run time
        package = importlib.import_module(f"duckdb_extension_{extension}")
        binary = Path(package.__path__[0]) / "extensions" / f"v{duckdb.__version__}" / f"{extension}.duckdb_extension"
        db.execute(f"LOAD '{binary}'")
    db.execute("SET hnsw_enable_experimental_persistence = true")
    table = pa.table(
        {
            "id": data.ids,
            "caption": data.captions,
            "image": pa.FixedSizeListArray.from_arrays(pa.array(data.image.ravel()), data.image.shape[1]),
            "text": pa.FixedSizeListArray.from_arrays(pa.array(data.text.ravel()), data.text.shape[1]),
        }
    )
    db.register("incoming", table)
    db.execute("CREATE TABLE photos AS SELECT * FROM incoming")
    db.execute("CREATE INDEX image_hnsw ON photos USING HNSW (image) WITH (metric = 'cosine')")
    db.execute("CREATE INDEX text_hnsw ON photos USING HNSW (text) WITH (metric = 'cosine')")
    db.execute("PRAGMA create_fts_index('photos', 'id', 'caption', stemmer = 'none', stopwords = 'none')")
    image_dims, text_dims = data.image.shape[1], data.text.shape[1]
    sql = f"""
        WITH image AS (
            SELECT id, row_number() OVER (ORDER BY array_cosine_distance(image, $1::FLOAT[{image_dims}])) AS r
            FROM photos ORDER BY array_cosine_distance(image, $1::FLOAT[{image_dims}]) LIMIT {DEPTH}),
        text AS (
            SELECT id, row_number() OVER (ORDER BY array_cosine_distance(text, $2::FLOAT[{text_dims}])) AS r
            FROM photos ORDER BY array_cosine_distance(text, $2::FLOAT[{text_dims}]) LIMIT {DEPTH}),
        words AS (
            SELECT id, row_number() OVER (ORDER BY score DESC) AS r FROM (
                SELECT id, fts_main_photos.match_bm25(id, $3) AS score FROM photos) WHERE score IS NOT NULL
            ORDER BY score DESC LIMIT {DEPTH}),
        hits AS (SELECT id, r FROM image UNION ALL SELECT id, r FROM text UNION ALL SELECT id, r FROM words)
        SELECT id FROM hits GROUP BY id ORDER BY sum(1.0 / ({RRF_K} + r)) DESC LIMIT {PAGE}
    """

    def one(i: int) -> list[str]:
        rows = db.execute(sql, [data.q_image[i].tolist(), data.q_text[i].tolist(), data.q_words[i]]).fetchall()
        return [row[0] for row in rows]

    return one


class Postgres:
    """A PostgreSQL server (as the postgres user when run as root) on a Unix socket, its data kept
    in `folder` so that a rerun finds the table and indexes built (`fresh`: they were not)."""

    def __init__(self, folder: Path) -> None:
        self.bin = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        if not (self.bin / "initdb").exists():
            raise RuntimeError("PostgreSQL's initdb is not installed")
        self.folder = folder
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.fresh = not (folder / "data" / "PG_VERSION").exists()
        if self.fresh:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            if self.prefix:
                shutil.chown(folder, "postgres")
            self._run(str(self.bin / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres")
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
            "-o", f"-k {folder} -h '' -c shared_buffers=2GB -c maintenance_work_mem=2GB", "start",
        )  # fmt: skip

    def _run(self, *command: str) -> None:
        subprocess.run([*self.prefix, *command], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop"])


def _load_postgres(db: Any, data: Data) -> None:
    """The photos table with its GIN and two HNSW indexes (built once, kept for reruns)."""
    db.execute("CREATE EXTENSION vector")
    image_dims, text_dims = data.image.shape[1], data.text.shape[1]
    db.execute(
        f"CREATE TABLE photos (id text PRIMARY KEY, caption text, image vector({image_dims}), text vector({text_dims}))"
    )
    with db.cursor().copy("COPY photos (id, caption, image, text) FROM STDIN") as copy:
        for key, caption, image, text in zip(data.ids, data.captions, data.image, data.text):
            copy.write_row((key, caption, "[" + ",".join(map(repr, image.tolist())) + "]",
                            "[" + ",".join(map(repr, text.tolist())) + "]"))  # fmt: skip
    db.execute(
        "ALTER TABLE photos ADD COLUMN words tsvector GENERATED ALWAYS AS (to_tsvector('simple', caption)) STORED"
    )
    db.execute("CREATE INDEX ON photos USING gin (words)")
    db.execute("SET max_parallel_maintenance_workers = 1")
    db.execute("CREATE INDEX ON photos USING hnsw (image vector_cosine_ops)")
    db.execute("CREATE INDEX ON photos USING hnsw (text vector_cosine_ops)")
    db.execute("ANALYZE photos")


def postgres_engine(data: Data, folder: Path) -> tuple[Callable[[int], list[str]], Callable[[], float], Postgres]:
    import psycopg

    server = Postgres(folder)
    db = psycopg.connect(host=str(server.folder), user="postgres", dbname="postgres", autocommit=True)
    if server.fresh:
        _load_postgres(db, data)
    db.execute("SET hnsw.ef_search = 200")
    backend = db.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    ticks = os.sysconf("SC_CLK_TCK")

    def server_cpu() -> float:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    sql = f"""
        WITH image AS (SELECT id, row_number() OVER (ORDER BY image <=> %(image)s::vector) AS r
                       FROM photos ORDER BY image <=> %(image)s::vector LIMIT {DEPTH}),
             text AS (SELECT id, row_number() OVER (ORDER BY text <=> %(text)s::vector) AS r
                      FROM photos ORDER BY text <=> %(text)s::vector LIMIT {DEPTH}),
             words AS (SELECT id, row_number() OVER (ORDER BY ts_rank_cd(words, q) DESC) AS r
                       FROM photos, to_tsquery('simple', %(words)s) q WHERE words @@ q
                       ORDER BY ts_rank_cd(words, q) DESC LIMIT {DEPTH}),
             hits AS (SELECT * FROM image UNION ALL SELECT * FROM text UNION ALL SELECT * FROM words)
        SELECT id FROM hits GROUP BY id ORDER BY sum(1.0 / ({RRF_K} + r)) DESC LIMIT {PAGE}
    """

    def one(i: int) -> list[str]:
        parameters = {
            "image": "[" + ",".join(map(repr, data.q_image[i].tolist())) + "]",
            "text": "[" + ",".join(map(repr, data.q_text[i].tolist())) + "]",
            "words": " | ".join(data.q_words[i].split()),
        }
        return [row[0] for row in db.execute(sql, parameters).fetchall()]

    return one, server_cpu, server


def overlap(pages: list[list[str]], reference: list[list[str]]) -> float:
    """Mean share of the reference engine's page of 20 that this engine also returns."""
    return float(np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(pages, reference)]))


SLOW_MS = 100.0  # an engine slower than this per query is measured in the first round only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="where bench_instant keeps its synthetic libraries")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100, help="queries per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each runs every engine once, in turn")
    parser.add_argument("--only", default="", help="engines whose names contain one of these words, comma-separated")
    args = parser.parse_args()
    from bench_instant import library

    db = library(Path(args.dir), args.size)
    queries = min(args.queries, 400 - 2)
    data = Data(db)
    scratch = Path(tempfile.mkdtemp(prefix="shashin-peers-"))
    print(f"{os.cpu_count()} cores; {len(data.ids):,} photos; {args.rounds} rounds of {queries} hybrid queries")
    makers: list[tuple[str, Callable[[], Any]]] = [
        ("shashin, 3 channels", lambda: shashin_engine(db, data, seven=False)),
        ("shashin, 7 channels explained", lambda: shashin_engine(db, data, seven=True)),
        ("numpy + tantivy", lambda: tantivy_engine(data)),
        ("numpy + SQLite FTS5", lambda: sqlite_engine(data)),
        ("DuckDB + vss + fts", lambda: duckdb_engine(data, scratch)),
        # kept beside the library: building its HNSW indexes takes minutes
        ("PostgreSQL + pgvector", lambda: postgres_engine(data, Path(args.dir) / f"pg-{args.size}")),
    ]
    wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    makers = [m for m in makers if not wanted or m[0].startswith("shashin") or any(w in m[0].lower() for w in wanted)]
    engines: dict[str, tuple[Callable[[int], list[str]], Callable[[], float] | None]] = {}
    servers: list[Postgres] = []
    setups: dict[str, float] = {}
    for name, make in makers:
        started = time.perf_counter()
        try:
            made = make()
        except Exception as exc:  # a peer that is not installed here
            print(f"  {name:32} skipped: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        if isinstance(made, tuple):
            engines[name] = (made[0], made[1])
            servers.append(made[2])
        else:
            engines[name] = (made, None)
        setups[name] = time.perf_counter() - started
        print(f"  {name:32} set up {setups[name]:6.1f} s", flush=True)
    cpu: dict[str, list[float]] = {name: [] for name in engines}
    wall: dict[str, list[float]] = {name: [] for name in engines}
    pages: dict[str, list[list[str]]] = {}
    pg, base = "PostgreSQL + pgvector", "shashin, 3 channels"
    try:
        for one, server_cpu in engines.values():  # a round not counted: every engine's pages read in
            measure(one, queries, server_cpu)
        for round_ in range(1, args.rounds + 1):
            load = os.getloadavg()[0]
            for name, (one, server_cpu) in engines.items():
                if round_ > 1 and cpu[name][0] > SLOW_MS:
                    continue
                c, w, found = measure(one, queries, server_cpu)
                cpu[name].append(c)
                wall[name].append(w)
                pages.setdefault(name, found)
            line = ", ".join(f"{name.split(',')[0] if name.startswith('shashin') else name} {cpu[name][-1]:.1f}"
                             for name in engines if len(cpu[name]) == round_)  # fmt: skip
            ratios = ""
            if pg in engines and len(cpu[pg]) == round_:
                ratios = "; ÷ pg: " + ", ".join(
                    f"{name.removeprefix('shashin, ')} {cpu[name][-1] / cpu[pg][-1]:.2f}×"
                    for name in engines if name.startswith("shashin")
                )  # fmt: skip
            print(f"  round {round_} (load {load:.2f}): CPU ms {line}{ratios}", flush=True)
    finally:
        for server in servers:
            server.stop()
    reference = pages[base]
    against = pg if pg in engines else base
    print(
        f"\n  {'engine (medians over rounds)':32} {'CPU ms':>8} {'wall ms':>8} {'CPU ÷ ' + against:>28} {'overlap':>8}"
    )
    for name in engines:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        ratio = c / statistics.median(cpu[against])
        print(f"  {name:32} {c:8.1f} {w:8.1f} {ratio:27.2f}× {overlap(pages[name], reference):8.2f}")
    if pg in engines:
        per_round = [a / b for a, b in zip(cpu[base], cpu[pg])]
        print(f"\n  shashin 3 channels ÷ pg per round: {', '.join(f'{r:.2f}' for r in per_round)}"
              f" (median {statistics.median(per_round):.2f}×)")  # fmt: skip
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
