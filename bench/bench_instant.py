"""Instant search: the CLI's cold path, a fresh process's first query, CPU per query and memory.

Side by side in one run, CPU time (user + system, every thread) and wall time both reported:

1. CLI on the demo library (`make demo` builds it): `shashin --help`, `shashin search "NO LITTER"`
   searching by itself (SHASHIN_NO_RESIDENT=1) and answered by a running `shashin serve`; medians
   of --rounds runs, each as a ratio to --help; then where a cold search's import time goes.
2. Synthetic libraries (bench_search.build: 768-d image vectors, captions with 384-d vectors, OCR,
   file names, dates, GPS), kept under --dir for reruns. Each case runs in a fresh process:
   - "first process": no saved search structures (as after the library changed): build them;
   - "saved structures": what the first process saved is opened memory-mapped;
   - the same with numpy's BLAS at every core (search.blas_threads = 0) instead of one.
   Reported: imports, time to the first answer, then --queries hybrid queries (7 channels, page of
   20, explained) and image-only queries: CPU and wall per query; resident memory after them
   (anonymous = the process's own, file = mapped pages the OS can drop); recall@10 of the image
   search against an exact scan.
3. 1,000 photos added to the library while a process has everything warm: what its next search pays.

    python bench/bench_instant.py --sizes 100000 [--dir /var/tmp/shashin-bench] [--skip-cli]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHASHIN = [sys.executable, "-m", "shashin"]


def _cpu_of_children() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def timed_run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one command run to completion."""
    cpu, wall = _cpu_of_children(), time.perf_counter()
    subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, check=True, cwd=REPO)
    return time.perf_counter() - wall, _cpu_of_children() - cpu


def cli_part(db: Path, rounds: int) -> None:
    if not (db / "tables").is_dir():
        print(f"\nCLI: no demo library at {db} (make demo builds it); skipped")
        return
    search = [*SHASHIN, "search", "NO LITTER", "--db", str(db), "--limit", "5"]
    cases: dict[str, list[tuple[float, float]]] = {"help": [], "search alone": [], "search, serve running": []}
    for _ in range(rounds):
        cases["help"].append(timed_run([*SHASHIN, "--help"]))
        cases["search alone"].append(timed_run(search, {"SHASHIN_NO_RESIDENT": "1"}))
    server = subprocess.Popen(
        [*SHASHIN, "serve", "--db", str(db), "--port", "8799"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert server.stderr is not None
        for line in server.stderr:
            if "answered by this server" in line:
                break
        timed_run(search)  # the server's first search opens its structures
        for _ in range(rounds):
            cases["search, serve running"].append(timed_run(search))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    help_wall = statistics.median(w for w, _ in cases["help"])
    help_cpu = statistics.median(c for _, c in cases["help"])
    print(f"\nCLI on {db} (median of {rounds} runs)")
    print(f"  {'command':26} {'wall s':>7} {'CPU s':>7} {'÷ help (wall / CPU)':>20}")
    for name, runs in cases.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {name:26} {wall:7.2f} {cpu:7.2f} {wall / help_wall:9.2f}× / {cpu / help_cpu:.2f}×")
    profile = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shashin", *search[3:]],
        env={**os.environ, "SHASHIN_NO_RESIDENT": "1"},
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stderr
    top: dict[str, int] = {}
    for line in profile.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit() and not name.startswith("   "):  # top-level imports only
                top[name.strip()] = int(cumulative)
    total = sum(top.values()) or 1
    print(
        "  a cold search's imports (cumulative, top level): "
        + ", ".join(f"{name} {us / 1e6:.2f} s" for name, us in sorted(top.items(), key=lambda kv: -kv[1])[:6])
        + f"; all {total / 1e6:.2f} s"
    )


def library(root: Path, n: int) -> Path:
    """The synthetic library of n photos under root, built on first use, with its queries."""
    db = root / f"lib-{n}"
    if (db / "queries.npz").exists():
        return db
    import numpy as np

    sys.path.insert(0, str(HERE))
    from bench_search import IMAGE_DIMENSIONS, TEXT_DIMENSIONS, build

    shutil.rmtree(db, ignore_errors=True)
    rng = np.random.default_rng(n)
    started = time.perf_counter()
    data = build(db, n, rng)
    picks = rng.integers(0, n, 400)
    noise = lambda d: 0.35 * rng.normal(size=(len(picks), d)).astype(np.float32) / np.sqrt(d)  # noqa: E731
    np.savez(
        db / "queries.npz",
        image=data["image"][picks] + noise(IMAGE_DIMENSIONS),
        text=data["captions"][picks] + noise(TEXT_DIMENSIONS),
        words=np.array([" ".join(str(data["texts"][i]).split()[:3]) for i in picks]),
    )
    print(f"  {n:,} photos written in {time.perf_counter() - started:.0f} s to {db}")
    return db


def child(db: str, queries: int, blas_threads: int, add: int) -> dict[str, Any]:
    """Runs in a fresh interpreter: open the library, answer queries, report (see module doc)."""
    started_cpu, started = time.process_time(), time.perf_counter()
    import numpy as np

    sys.path.insert(0, str(HERE))
    from bench_search import IMAGE_DIMENSIONS, QueryVectors
    from shashin.channels import build_channels, search_channels
    from shashin.channels.captions import CaptionVectorChannel
    from shashin.channels.image import ImageChannel
    from shashin.config import load_settings
    from shashin.search.engine import SearchOptions, search_photos
    from shashin.store import SearchTuning, Store

    imported, imported_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    data = np.load(Path(db) / "queries.npz")
    settings = load_settings({"db": db, "search.blas_threads": str(blas_threads)})
    store = Store(db, create=False)
    store.search_tuning = SearchTuning(settings.search.ann_min_rows, 0)
    image_vectors, caption_vectors = QueryVectors(data["image"], "bench-image"), QueryVectors(data["text"], "bench-e5")
    channels = search_channels(build_channels(settings))
    image = next(c for c in channels if isinstance(c, ImageChannel))
    image.model = image_vectors  # type: ignore[assignment]
    image._tag_vectors = np.zeros((1, IMAGE_DIMENSIONS), np.float32)
    next(c for c in channels if isinstance(c, CaptionVectorChannel)).embedder = caption_vectors  # type: ignore[assignment]
    words = [str(w) for w in data["words"]]

    def one(text: str, selected: list[Any]) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        search_photos(store, selected, text, settings.search, SearchOptions(limit=20, parse=False))
        return time.process_time() - cpu, time.perf_counter() - wall

    first_cpu, first = one(words[0], channels)
    out: dict[str, Any] = {
        "import_s": imported,
        "import_cpu_s": imported_cpu,
        "first_s": first,
        "first_cpu_s": first_cpu,
        "to_first_answer_s": time.perf_counter() - started,
    }
    hybrid = [one(w, channels) for w in words[1 : queries + 1]]
    only_image = [one(w, [image]) for w in words[1 : queries + 1]]
    for name, runs in (("hybrid", hybrid), ("image", only_image)):
        out[f"{name}_cpu_ms"] = 1000 * statistics.median(c for c, _ in runs)
        out[f"{name}_wall_ms"] = 1000 * statistics.median(w for _, w in runs)
        out[f"{name}_wall_p95_ms"] = 1000 * float(np.percentile([w for _, w in runs], 95))
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    for field in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
        out[field] = int(status[field].split()[0]) / 1024
    index = store._vector_index("channel_image", "vector", "photo_id", "status = 'done' AND version = 'bench-image'")
    recall = []
    for q in data["image"][:100]:
        approximate = {row for row, _ in index.search(q, 10)}
        scores = np.asarray(index.matrix) @ (q / np.linalg.norm(q))
        truth = set(index._row_at[np.argpartition(-scores, 10)[:10]].tolist())
        recall.append(len(approximate & truth) / 10)
    out["recall_at_10"] = float(np.mean(recall))
    if add:
        from bench_search import build

        n = len(index)
        build(Path(db), add, np.random.default_rng(7), start=n + 10_000_000)
        time.sleep(0.6)  # past the version recheck interval
        out["after_add_cpu_s"], out["after_add_s"] = one(words[1], channels)
        out["after_add_next_ms"] = 1000 * one(words[2], channels)[1]
        added = [f"{i:032x}" for i in range(n + 10_000_000, n + 10_000_000 + add)]
        for table, key in (
            ("photos", "photo_id"),
            ("files", "photo_id"),
            ("channel_image", "photo_id"),
            ("channel_ocr", "photo_id"),
            ("captions", "photo_id"),
            ("caption_chunks", "photo_id"),
        ):
            store._delete_in(table, key, added)  # the library as it was, for the next run
    return out


def run_child(db: Path, queries: int, blas_threads: int = 1, add: int = 0) -> dict[str, Any]:
    code = f"import json, bench_instant as b; print(json.dumps(b.child({str(db)!r}, {queries}, {blas_threads}, {add})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def drop_page_cache() -> bool:
    """Empty the OS page cache (root only), so that the next process reads every file from disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError:
        return False
    return True


def synthetic_part(root: Path, n: int, queries: int) -> None:
    print(f"\n{n:,} photos")
    db = library(root, n)
    shutil.rmtree(db / "search", ignore_errors=True)
    cases = {
        "first process (builds)": run_child(db, queries),
        "saved structures": run_child(db, queries),
        "saved, BLAS every core": run_child(db, queries, blas_threads=0),
    }
    if drop_page_cache():
        cases["saved, cold page cache"] = run_child(db, queries)
    else:
        print("  (the page cache cannot be dropped here: no cold-cache case; it needs root)")
    print(
        f"  {'':26} {'imports':>8} {'1st answer':>11} {'hybrid CPU/wall ms':>19} {'image CPU/wall ms':>18}"
        f" {'RSS anon/file MB':>17} {'recall@10':>9}"
    )
    for name, r in cases.items():
        print(
            f"  {name:26} {r['import_s']:7.2f}s {r['first_s']:10.2f}s"
            f" {r['hybrid_cpu_ms']:9.1f} / {r['hybrid_wall_ms']:6.1f}"
            f" {r['image_cpu_ms']:8.1f} / {r['image_wall_ms']:6.1f}"
            f" {r['RssAnon']:8.0f} / {r['RssFile']:6.0f} {r['recall_at_10']:9.3f}"
        )
    ratio = cases["saved, BLAS every core"]["hybrid_cpu_ms"] / cases["saved structures"]["hybrid_cpu_ms"]
    print(f"  hybrid CPU per query, BLAS every core ÷ one thread: {ratio:.2f}×")
    added = run_child(db, 20, add=1000)
    print(
        f"  1,000 photos added to a warm process's library: next search {added['after_add_s']:.2f} s "
        f"({added['after_add_cpu_s']:.2f} s CPU), the one after {added['after_add_next_ms']:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="synthetic library sizes, comma-separated (0: none)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="CLI runs per command")
    parser.add_argument("--demo-db", default=str(REPO / ".demo" / "library"))
    parser.add_argument("--dir", default="", help="where synthetic libraries are kept (default: a temporary folder)")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    if not args.skip_cli:
        cli_part(Path(args.demo_db), args.rounds)
    root = Path(args.dir or tempfile.mkdtemp(prefix="shashin-bench-instant-"))
    for n in (int(s) for s in args.sizes.split(",") if int(s)):
        synthetic_part(root, n, args.queries)


if __name__ == "__main__":
    main()
