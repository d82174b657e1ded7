"""Ingest throughput on Ray with 1, 2 and 4 channel workers beside the plain local run, in one run.

Every configuration indexes the same photos (OCR + perceptual hash, the CPU channels that run
here) into a fresh library, so only the engine differs. Ray runs on this machine: the ratio to
the local run is Ray's overhead (scheduling, pickling photos between stages, several writers),
which a multi-machine cluster pays back by adding nodes. Ray's start-up is reported apart from
the indexing time.

    python bench/bench_ray_ingest.py                       # 48 rendered sign photos
    python bench/bench_ray_ingest.py --photos ../shared/data/coco-cc76/images
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools.render

from shashin import Library
from shashin.config import load_settings
from shashin.scale.ray_ingest import RayOptions


def render_photos(folder: Path, count: int) -> Path:
    from tools.render import Sign, save

    for number in range(count):
        save(
            Sign([f"GATE {number}", "出口 EXIT"], seed=500 + number, size=(800, 520)),
            folder / f"g{number % 4}" / f"{number}.jpg",
        )
    return folder


def index_once(photos: Path, db: Path, cluster: RayOptions | None) -> tuple[float, int]:
    library = Library(settings=load_settings({"db": str(db), "channels": "ocr,phash", "batch_size": 4}))
    started = time.monotonic()
    report = library.index([photos], cluster=cluster)
    elapsed = time.monotonic() - started
    assert not report.errors and report.channels["ocr"].processed == report.new_photos, report
    return elapsed, report.new_photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=None, help="a folder of photos (default: render 48 signs)")
    parser.add_argument("--count", type=int, default=48, help="photos to render when --photos is not given")
    parser.add_argument("--workers", default="1,2,4", help="channel actors to try, comma-separated")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="shashin-ray-bench-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        photos = args.photos or render_photos(root / "photos", args.count)
        workers = [int(value) for value in args.workers.split(",")]
        index_once(photos, root / "warm", None)  # model files into the page cache, first-call costs paid
        local, count = index_once(photos, root / "local", None)
        print(f"bench_ray_ingest: {os.cpu_count()} cores, {count} photos, channels ocr+phash")
        print(f"  local run:        {local:6.1f} s  {count / local:5.2f} photos/s  ratio 1.00")

        import ray

        started = time.monotonic()
        ray.init(num_cpus=max(workers) + 1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        print(
            f"  (Ray start {time.monotonic() - started:.1f} s, {max(workers) + 1} logical CPUs on {os.cpu_count()} cores)"
        )
        for number in workers:
            elapsed, _ = index_once(photos, root / f"ray-{number}", RayOptions(address="auto", cpu_workers=number))
            print(
                f"  Ray, {number} worker{'s' if number > 1 else ' '}:   {elapsed:6.1f} s  {count / elapsed:5.2f} photos/s"
                f"  ratio {local / elapsed:.2f}"
            )
        ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
