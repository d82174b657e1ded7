"""Indexing and query benchmark: photos/s for scan + decode + OCR + keyword indexing, and query latency.

Measured side by side in one run, on the same photos, for everyday photos (the shared COCO
development set when present, plus rendered 0.7 MP sign photos) and for camera-size 24 MP JPEGs:
  1. the OCR model alone on pre-decoded images (the ceiling: what the model costs),
  2. the pipeline with decode worker processes (the default),
  3. the pipeline decoding in-process (workers=0), to show what the workers buy,
  4. a rerun with nothing changed (incremental cost),
and query latency p50/p95 for keyword queries in English, Japanese and phrases.

    python bench/bench_index.py [--rendered 24] [--camera 12] [--rounds 30] [--json .bench/index.json]
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

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tools.render import Sign, render, save  # noqa: E402

from shashin import Library, __version__  # noqa: E402
from shashin.channels.recent import RecentQueries  # noqa: E402
from shashin.config import load_settings  # noqa: E402
from shashin.ingest.pipeline import decode_workers  # noqa: E402
from shashin.media import MaxSide, decode_photo, is_supported  # noqa: E402
from shashin.models.ocr_rapid import RapidOcr  # noqa: E402

COCO = REPO.parent / "shared" / "data" / "coco-cc76" / "images"
WORDS = [
    ("NO LITTER", "ポイ捨て禁止"),
    ("EXIT", "出口"),
    ("TOKYO STATION", "東京駅"),
    ("OPEN", "営業中"),
    ("WET FLOOR", "足元注意"),
    ("NO PHONES", "スマホ禁止"),
    ("COFFEE", "抹茶ラテ"),
    ("SALE", "セール"),
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
    rendition = {"ocr": MaxSide(max_side)}
    decoded = [decode_photo(str(p), "x", max_pixels=200_000_000, renditions=rendition).renditions["ocr"] for p in files]
    ocr.read(decoded[0])  # warm-up, as the pipeline's own first call after load
    started = time.perf_counter()
    for pixels in decoded:
        ocr.read(pixels)
    return len(decoded) / (time.perf_counter() - started)


def bench_pipeline(folders: list[Path], db: Path, workers: int) -> tuple[float, float, object]:
    # OCR and keywords only: the image channel has its own benchmark (bench_embed.py).
    settings = load_settings({"db": str(db), "workers": workers, "channels": "ocr"})
    library = Library(settings=settings)
    started = time.perf_counter()
    report = library.index(folders)
    total = time.perf_counter() - started
    assert not report.failed, report.errors
    return report.photos_processed / total, total, report


def bench_queries(db: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Each query as if asked for the first time: the query vectors the meaning channels remember
    (channels/recent.py) are forgotten before it, so every round runs the query encoders."""
    library = Library(db)
    for queries in QUERIES.values():  # warm-up: open tables, load the tokenizer dictionary
        for query in queries:
            library.search(query)
    remembered = remembered_vectors(library)
    results: dict[str, dict[str, float]] = {}
    everything: list[float] = []
    for kind, queries in QUERIES.items():
        times = []
        for _ in range(rounds):
            for query in queries:
                for recent in remembered:
                    recent.clear()
                started = time.perf_counter()
                library.search(query, limit=20)
                times.append((time.perf_counter() - started) * 1000)
        everything.extend(times)
        results[kind] = summarize(times)
    results["all"] = summarize(everything)
    return results


def remembered_vectors(library: Library) -> list[RecentQueries]:
    """The query vectors each meaning channel of `library` remembers (channels/recent.py), to be
    cleared before a query that is to be timed as asked for the first time."""
    return [
        channel._recent for channels in library._built.values() for channel in channels if hasattr(channel, "_recent")
    ]


def summarize(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "n": len(ordered),
    }


def render_camera_photos(folder: Path, count: int) -> list[Path]:
    """24-megapixel JPEGs with sensor-like noise: what a camera writes, and costly to decode."""
    rng = np.random.default_rng(0)
    paths = []
    for number in range(count):
        english, japanese = WORDS[number % len(WORDS)]
        small = render(Sign([f"{english} {number}", japanese], seed=2000 + number, size=(1500, 1000)))
        pixels = np.asarray(small.resize((6000, 4000), Image.Resampling.BILINEAR), dtype=np.int16)
        pixels = pixels + rng.integers(-12, 12, pixels.shape, dtype=np.int16)
        path = folder / f"camera-{number:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths


def bench_set(name: str, folders: list[Path], work: Path) -> dict[str, float]:
    """Model alone vs the pipeline with and without decode workers, on one set of photos."""
    files = photo_files(folders)
    settings = load_settings({})
    figures: dict[str, float] = {"photos": len(files), "mean_megapixels": mean_megapixels(files)}
    figures["model_only"] = bench_model_only(files, settings.ocr.max_side)
    workers = max(1, decode_workers(settings, False))  # compare with at least one worker even where the default is none
    figures["pipeline_workers"], figures["seconds_workers"], _ = bench_pipeline(
        folders, work / f"{name}-workers", workers
    )
    figures["pipeline_inprocess"], figures["seconds_inprocess"], _ = bench_pipeline(
        folders, work / f"{name}-inprocess", 0
    )
    started = time.perf_counter()
    rerun = Library(settings=load_settings({"db": str(work / f"{name}-workers"), "channels": "ocr"})).index()
    figures["rerun_seconds"] = time.perf_counter() - started
    assert rerun.photos_processed == 0
    return figures


def print_set(title: str, f: dict[str, float], workers: int) -> None:
    print(f"{title}: {int(f['photos'])} photos, mean {f['mean_megapixels']:.2f} MP — photos/s")
    print(f"  OCR model alone, pre-decoded      {f['model_only']:6.2f}")
    print(
        f"  pipeline, {workers} decode worker(s)      {f['pipeline_workers']:6.2f}   "
        f"({f['pipeline_workers'] / f['model_only']:.2f}× the model alone, {f['seconds_workers']:.1f} s)"
    )
    print(
        f"  pipeline, decoding in-process     {f['pipeline_inprocess']:6.2f}   "
        f"({f['pipeline_inprocess'] / f['model_only']:.2f}× the model alone, {f['seconds_inprocess']:.1f} s)"
    )
    print(f"  workers vs in-process             {f['pipeline_workers'] / f['pipeline_inprocess']:6.2f}×")
    print(f"  rerun with nothing changed        {f['rerun_seconds']:6.2f} s (no photo reprocessed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rendered", type=int, default=24, help="rendered 0.7 MP sign photos to add (default 24)")
    parser.add_argument(
        "--camera", type=int, default=12, help="rendered 24 MP camera-size photos (default 12; 0 = skip)"
    )
    parser.add_argument("--rounds", type=int, default=30, help="times each query is run (default 30)")
    parser.add_argument("--json", type=Path, default=REPO / ".bench" / "index.json", help="where to write the figures")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shashin-bench-"))
    try:
        render_photos(work / "rendered", args.rendered)
        small_folders = [work / "rendered"] + ([COCO] if COCO.is_dir() else [])
        default = decode_workers(load_settings({}), False)
        workers = max(1, default)
        print(
            f"shashin {__version__} · Python {platform.python_version()} · {os.cpu_count()} cores · "
            f"{'COCO dev set + ' if COCO.is_dir() else ''}rendered photos · default workers here: {default}\n"
        )
        results: dict[str, object] = {"workers": workers, "default_workers": default}
        results["small"] = small = bench_set("small", small_folders, work)
        print_set("everyday photos", small, workers)
        if args.camera:
            render_camera_photos(work / "camera", args.camera)
            results["camera"] = camera = bench_set("camera", [work / "camera"], work)
            print()
            print_set("camera-size photos", camera, workers)
        results["queries"] = queries = bench_queries(work / "small-workers", args.rounds)
        print(f"\nquery latency over {int(small['photos'])} photos, ms ({args.rounds} rounds of each query):")
        for kind, figures in queries.items():
            print(f"  {kind:<16} p50 {figures['p50_ms']:6.1f}   p95 {figures['p95_ms']:6.1f}   (n={figures['n']})")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
