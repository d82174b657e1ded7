"""The folder watcher: how soon copied photos are searchable, and how a burst is batched.

Side by side in one run, `shashin watch` in a subprocess (as users run it) on an empty folder:
1. 100 photos (coco-cc76, or generated ones without it) copied in: seconds from the end of the
   copy until every one is in the library, and the index runs it took. Goal: ≤ 10 s.
2. A burst of 1,000 small distinct photos written at once: seconds until all are in, and the
   number of index runs (batches, not 1,000 runs).
3. The same 100 photos with OCR (a real model): when the first and the last are searchable —
   what a user waits for when the channels do real work.
The watcher's own cost is parts 1 and 2 (pHash only: almost no model time).

    python bench/bench_watch.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
COCO = REPO.parent / "shared" / "data" / "coco-cc76" / "images"


def photos_for(count: int, folder: Path) -> list[Path]:
    """`count` distinct photos to copy: coco-cc76 (as is, then mirrored) or generated."""
    from PIL import Image, ImageOps

    folder.mkdir(parents=True)
    made: list[Path] = []
    sources = sorted(COCO.glob("*.jpg")) if COCO.is_dir() else []
    for n in range(count):
        path = folder / f"p{n:04d}.jpg"
        if sources:
            with Image.open(sources[n % len(sources)]) as image:
                image = image.convert("RGB")
                (ImageOps.mirror(image) if n >= len(sources) else image).save(path, quality=90)
        else:
            Image.fromarray(np.random.default_rng(n).integers(0, 255, (480, 640, 3), dtype=np.uint8)).save(path)
        made.append(path)
    return made


def count(db: Path) -> int:
    from shashin.store import Store, StoreError

    try:
        return len(Store(db, create=False).files())
    except StoreError:
        return 0


def watch(folder: Path, db: Path, channels: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHASHIN_CHANNELS": channels, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shashin", "watch", str(folder), "--db", str(db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not (db / "watcher.json").exists() or json.loads((db / "watcher.json").read_text())["runs"] < 1:
        time.sleep(0.2)  # caught up (with nothing) and following events
    return process


def until(db: Path, wanted: int, limit: float = 900) -> tuple[float, float | None]:
    """Seconds until `wanted` files are in the library (and until the first one was)."""
    started, first = time.perf_counter(), None
    while time.perf_counter() - started < limit:
        n = count(db)
        if n and first is None:
            first = time.perf_counter() - started
        if n >= wanted:
            return time.perf_counter() - started, first
        time.sleep(0.1)
    raise SystemExit(f"only {count(db)} of {wanted} photos after {limit} s")


def runs(db: Path) -> int:
    """Index runs so far, once the watcher is idle again (its state is written after each run)."""
    for _ in range(600):
        state = json.loads((db / "watcher.json").read_text())
        if state["doing"] == "watching" and state["queue"] == 0:
            break
        time.sleep(0.1)
    return int(state["runs"])


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="shashin-bench-watch-"))
    try:
        hundred = photos_for(100, work / "source")
        for label, channels in (("pHash only", "phash"), ("OCR", "ocr")):
            folder, db = work / f"watched-{channels}", work / f"db-{channels}"
            folder.mkdir()
            process = watch(folder, db, channels)
            copy_started = time.perf_counter()
            for photo in hundred:
                shutil.copy(photo, folder / photo.name)
            copied = time.perf_counter() - copy_started
            total, first = until(db, 100)
            print(
                f"100 photos copied in {copied:.2f} s, {label}: all in the library {total:5.1f} s after the copy "
                f"(first after {first or 0:.1f} s), in {runs(db) - 1} index runs"
                + ("  (goal ≤ 10 s)" if channels == "phash" else "")
            )
            if channels == "phash":
                burst = work / "burst"
                burst.mkdir()
                from PIL import Image

                for n in range(1000):
                    pixels = np.random.default_rng(10_000 + n).integers(0, 255, (64, 64, 3), dtype=np.uint8)
                    Image.fromarray(pixels).save(burst / f"b{n:04d}.png")
                before = runs(db)
                started = time.perf_counter()
                shutil.copytree(burst, folder / "burst")
                copied = time.perf_counter() - started
                total, _ = until(db, 1100)
                print(
                    f"1,000-file burst copied in {copied:.2f} s: all in {total:5.1f} s after the copy, "
                    f"in {runs(db) - before} index runs"
                )
            stop(process)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
