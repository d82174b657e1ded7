"""Indexing and query benchmark: photos/s for scan + decode + OCR + keyword indexing, and query latency.

Measured side by side in one run, on the same photos:
  1. the OCR model alone on pre-decoded images (the ceiling: what the model costs),
  2. the pipeline with decode worker processes (the default),
  3. the pipeline decoding in-process (workers=0), to show what the workers buy,
  4. a rerun with nothing changed (incremental cost),
  5. query latency p50/p95 for keyword queries in English, Japanese and phrases.

    python bench/bench_index.py [--rendered 24] [--rounds 30] [--json .bench/index.json]

Photos: the shared COCO development set (../shared/data/coco-cc76) when present, plus rendered
sign photos with English and Japanese text.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LANCEDB_LOG", "error")

from PIL import Image  # noqa: E402

from shashin import Library, __version__  # noqa: E402
from shashin.config import load_settings  # noqa: E402
from shashin.media import decode_photo, is_supported  # noqa: E402
from shashin.models.ocr_rapid import RapidOcr  # noqa: E402
from tools.render import Sign, save  # noqa: E402

COCO = REPO.parent / "shared" / "data" / "coco-cc76" / "images"
WORDS = [
    ("NO LITTER", "ポイ捨て禁止"), ("EXIT", "出口"), ("TOKYO STATION", "東京駅"), ("OPEN", "営業中"),
    ("WET FLOOR", "足元注意"), ("NO PHONES", "スマホ禁止"), ("COFFEE", "抹茶ラテ"), ("SALE", "セール"),
]
QUERIES = {
    "english word": ["litter", "exit", "coffee", "station", "stop"],
    "english words": ["no litter", "wet floor", "tokyo station", "open sale"],
    "japanese": ["ポイ捨て", "出口", "東京", "ｽﾏﾎ", "営業中"],
    "phrase": ['"no litter"', '"wet floor"', "「足元注意」"],
}


def render_photos(folder: Path, count: int) -> list[Path]:
    paths = []
    for number in range(count):
        english, japanese = WORDS[number % len(WORDS)]
        sign = Sign([f"{english} {number}", japanese], seed=1000 + number, size=(1024, 680))
        paths.append(save(sign, folder / f"sign-{number:03d}.jpg"))
    return paths


def photo_files(folders: list[Path]) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*") if p.is_file() and is_supported(p))


def mean_megapixels(files: list[Path]) -> float:
    total = 0
    for path in files:
        with Image.open(path) as image:
            total += image.size[0] * image.size[1]
    return total / len(files) / 1e6


def bench_model_only(files: list[Path], max_side: int) -> float:
    ocr = RapidOcr(max_side=max_side)
    ocr.load()
    decoded = [decode_photo(str(p), "x", max_pixels=200_000_000, work_max_side=max_side, thumbnail_size=384) for p in files]
    ocr.read(decoded[0].pixels)  # warm-up, as the pipeline's own first call after load
    started = time.perf_counter()
    for photo in decoded:
        ocr.read(photo.pixels)
    return len(decoded) / (time.perf_counter() - started)


def bench_pipeline(folders: list[Path], db: Path, workers: int) -> tuple[float, float, object]:
    settings = load_settings({"db": str(db), "workers": workers})
    library = Library(settings=settings)
    started = time.perf_counter()
    report = library.index(folders)
    total = time.perf_counter() - started
    assert not report.failed, report.errors
    return report.photos_processed / total, total, report


def bench_queries(db: Path, rounds: int) -> dict[str, dict[str, float]]:
    library = Library(db)
    for queries in QUERIES.values():  # warm-up: open tables, load the tokenizer dictionary
        for query in queries:
            library.search(query)
    results: dict[str, dict[str, float]] = {}
    everything: list[float] = []
    for kind, queries in QUERIES.items():
        times = []
        for _ in range(rounds):
            for query in queries:
                started = time.perf_counter()
                library.search(query, limit=20)
                times.append((time.perf_counter() - started) * 1000)
        everything.extend(times)
        results[kind] = summarize(times)
    results["all"] = summarize(everything)
    return results


def summarize(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "n": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rendered", type=int, default=24, help="rendered sign photos to add (default 24)")
    parser.add_argument("--rounds", type=int, default=30, help="times each query is run (default 30)")
    parser.add_argument("--json", type=Path, default=REPO / ".bench" / "index.json", help="where to write the figures")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shashin-bench-"))
    try:
        rendered = work / "rendered"
        render_photos(rendered, args.rendered)
        folders = [rendered] + ([COCO] if COCO.is_dir() else [])
        files = photo_files(folders)
        megapixels = mean_megapixels(files)
        print(f"shashin {__version__} · {platform.python_version()} · {os.cpu_count()} cores")
        print(f"{len(files)} photos ({'COCO dev set + ' if COCO.is_dir() else ''}{args.rendered} rendered signs), mean {megapixels:.2f} MP\n")

        max_side = load_settings({}).ocr.max_side
        model_rate = bench_model_only(files, max_side)
        workers_rate, workers_seconds, report = bench_pipeline(folders, work / "db-workers", workers=load_settings({}).workers)
        inproc_rate, inproc_seconds, _ = bench_pipeline(folders, work / "db-inprocess", workers=0)
        started = time.perf_counter()
        rerun = Library(work / "db-workers").index()
        rerun_seconds = time.perf_counter() - started
        queries = bench_queries(work / "db-workers", args.rounds)

        default_workers = load_settings({}).workers
        print("indexing (scan + hash + decode + OCR + keyword index + commit), photos/s:")
        print(f"  OCR model alone, pre-decoded       {model_rate:6.2f}")
        print(f"  pipeline, {default_workers} decode worker(s)       {workers_rate:6.2f}   ({workers_rate / model_rate:.2f}× the model alone)  {workers_seconds:.1f} s")
        print(f"  pipeline, decoding in-process      {inproc_rate:6.2f}   ({inproc_rate / model_rate:.2f}× the model alone)  {inproc_seconds:.1f} s")
        print(f"  decode workers vs in-process       {workers_rate / inproc_rate:6.2f}×")
        print(f"  rerun with nothing changed         {rerun_seconds:6.2f} s for {rerun.files_found} files ({rerun.photos_processed} photos reprocessed)")
        print(f"\nquery latency over {len(files)} photos (ms, {args.rounds} rounds):")
        for kind, figures in queries.items():
            print(f"  {kind:<16} p50 {figures['p50_ms']:6.1f}   p95 {figures['p95_ms']:6.1f}   (n={figures['n']})")

        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "photos": len(files),
                    "mean_megapixels": megapixels,
                    "ocr_model_only_photos_per_s": model_rate,
                    "pipeline_workers": default_workers,
                    "pipeline_photos_per_s": workers_rate,
                    "pipeline_inprocess_photos_per_s": inproc_rate,
                    "rerun_seconds": rerun_seconds,
                    "queries": queries,
                    "index_report_seconds": report.seconds,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        print(f"\nfigures written to {args.json}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
