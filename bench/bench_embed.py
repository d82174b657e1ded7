"""Image-vector throughput on the CPU: shashin's pipeline against a naive loop, same model, one run.

  naive loop     open one photo, run the checkpoint's processor, forward it, one photo at a time
                 (what a model card's example does in a for loop)
  our pipeline   decode + processor geometry in the decode pool, batched forward, normalization
                 on the device: the image channel's own path (shashin.models.image_text)
  full index     `Library.index` with only the image channel: also hashing, thumbnails, tags
                 and commits to the store

The model has the exact vision tower of google/siglip2-base-patch16-256 (random weights: no
weights can be downloaded here; speed does not depend on their values).

    python bench/bench_embed.py [--photos 76] [--workers N] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LANCEDB_LOG", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from tools.random_models import build_tiny_model  # noqa: E402
from tools.render import Sign, save  # noqa: E402

from shashin import Library  # noqa: E402
from shashin.config import load_settings  # noqa: E402
from shashin.ingest.decode import DecodeJob, DecodePool  # noqa: E402
from shashin.media import is_supported  # noqa: E402
from shashin.models.image_text import ImageTextModel  # noqa: E402

COCO = REPO.parent / "shared" / "data" / "coco-cc76" / "images"
SHAPE = "siglip2-base-patch16-256"


def photos(folder: Path, count: int) -> list[Path]:
    """COCO development photos when present (as many as asked, repeating), else rendered ones."""
    if COCO.is_dir():
        source = sorted(p for p in COCO.iterdir() if is_supported(p))
        chosen = [source[i % len(source)] for i in range(count)]
        paths = []
        for number, path in enumerate(chosen):  # distinct files so nothing is cached by content
            target = folder / f"{number:04d}-{path.name}"
            shutil.copyfile(path, target)
            paths.append(target)
        return paths
    return [save(Sign([f"PHOTO {n}"], seed=n, size=(640, 480)), folder / f"{n:04d}.jpg") for n in range(count)]


def naive(model_dir: Path, paths: list[Path]) -> float:
    from transformers import AutoModel, AutoProcessor

    model, processor = AutoModel.from_pretrained(model_dir).eval(), AutoProcessor.from_pretrained(model_dir)
    with torch.no_grad():
        model.get_image_features(**processor(images=Image.open(paths[0]).convert("RGB"), return_tensors="pt"))
        started = time.perf_counter()
        for path in paths:
            inputs = processor(images=Image.open(path).convert("RGB"), return_tensors="pt")
            model.get_image_features(**inputs)
    return len(paths) / (time.perf_counter() - started)


def pipeline(model_dir: Path, paths: list[Path], workers: int) -> tuple[float, np.ndarray]:
    model = ImageTextModel(str(model_dir), device="cpu")
    model.load()
    rendition = {"image": model.rendition()}
    model.embed_images([Image.open(paths[0]).convert("RGB")])  # warm-up, as for the naive loop
    started = time.perf_counter()
    vectors = []
    with DecodePool(workers, ahead=2 * model.batch_size) as pool:
        batch = []
        for _, photo in pool.decode(DecodeJob(str(p), p.name, 200_000_000, rendition) for p in paths):
            batch.append(photo.renditions["image"])
            if len(batch) == model.batch_size:
                vectors.append(model.embed_prepared(batch))
                batch = []
        if batch:
            vectors.append(model.embed_prepared(batch))
    return len(paths) / (time.perf_counter() - started), np.concatenate(vectors)


def full_index(model_dir: Path, folder: Path, db: Path, workers: int) -> float:
    settings = load_settings({"db": str(db), "image.model": str(model_dir), "channels": "image", "workers": workers})
    started = time.perf_counter()
    report = Library(settings=settings).index([folder])
    assert not report.failed and report.channels["image"].processed == report.photos_processed
    return report.photos_processed / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=76, help="photos per measurement (default 76)")
    parser.add_argument(
        "--workers", type=int, default=-1, help="decode processes for our pipeline (default: automatic)"
    )
    parser.add_argument(
        "--model-dir", type=Path, default=REPO / ".bench" / "models" / SHAPE, help="where the random checkpoint is kept"
    )
    args = parser.parse_args()

    if not (args.model_dir / "config.json").is_file():
        print(f"building a random {SHAPE} checkpoint in {args.model_dir} …", flush=True)
        build_tiny_model("siglip2-fixres", args.model_dir, shape=SHAPE)
    from shashin.ingest.pipeline import decode_workers

    workers = args.workers if args.workers >= 0 else decode_workers(load_settings({}), False)
    work = Path(tempfile.mkdtemp(prefix="shashin-embed-"))
    try:
        folder = work / "photos"
        folder.mkdir()
        paths = photos(folder, args.photos)
        print(
            f"{len(paths)} photos · {SHAPE} vision tower (random weights) · CPU, {torch.get_num_threads()} threads "
            f"· {os.cpu_count()} cores · Python {platform.python_version()} · torch {torch.__version__}"
        )
        naive_rate = naive(args.model_dir, paths)
        ours_rate, vectors = pipeline(args.model_dir, paths, workers)
        index_rate = full_index(args.model_dir, folder, work / "db", workers)
        assert vectors.shape[0] == len(paths)
        print(f"  naive loop (one photo at a time)     {naive_rate:6.2f} photos/s")
        print(
            f"  our pipeline ({workers} decode workers)      {ours_rate:6.2f} photos/s   {ours_rate / naive_rate:.2f}× the naive loop"
        )
        print(
            f"  full index, image channel only       {index_rate:6.2f} photos/s   {index_rate / naive_rate:.2f}× the naive loop"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
