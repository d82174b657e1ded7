"""GPU throughput of the image channel: end to end (JPEG files → decode workers → GPU) vs model only.

The model has the shape of google/siglip2-large-patch16-256 (random weights: nothing can be
downloaded on the GPU machine; speed does not depend on their values). JPEG files are generated
on the spot. End to end is the image channel's ingest path as `shashin index` runs it: read and
decode in worker processes (JPEG draft decoding, processor geometry), collate, copy to the GPU,
normalize and embed in bfloat16, vectors back to the host. Not included: hashing, thumbnails and
the LanceDB commit (the GPU machine has no LanceDB).

    PYTHONPATH=src:. python bench/gpu_embed.py [--photos 8192] [--size 640x480] [--workers N] [--out DIR]

Goals (issue 3): end to end ≥ 75 % of model only, and ≥ 1,500 photos/s on one H200.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

SHAPE = "siglip2-large-patch16-256"


def _write_photo(job: tuple[str, int, int, int]) -> None:
    """A photo-like JPEG: smooth random shapes and light sensor noise (decodes like a real photo)."""
    from PIL import Image

    path, seed, width, height = job
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    pixels = np.asarray(coarse, dtype=np.int16) + rng.integers(-6, 7, (height, width, 3), dtype=np.int16)
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=90)


def make_photos(folder: Path, count: int, width: int, height: int) -> list[Path]:
    paths = [folder / f"{n:05d}.jpg" for n in range(count)]
    with get_context("spawn").Pool(os.cpu_count()) as pool:
        pool.map(_write_photo, [(str(p), n, width, height) for n, p in enumerate(paths)], chunksize=64)
    return paths


def model_only(model, batch: dict[str, np.ndarray], rounds: int = 20) -> float:  # type: ignore[no-untyped-def]
    """Photos/s of the forward pass alone, on a batch already on the GPU, in the model's dtype."""
    device_batch = {k: torch.from_numpy(v).to(model.device) for k, v in batch.items()}
    device_batch["pixel_values"] = model._normalize(device_batch)
    size = len(batch["pixel_values"])
    cuda = model.device.startswith("cuda")
    with torch.inference_mode():
        for _ in range(3):
            model._model.get_image_features(**device_batch)
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(rounds):
            model._model.get_image_features(**device_batch)
        if cuda:
            torch.cuda.synchronize()
    return size * rounds / (time.perf_counter() - started)


def end_to_end(model, paths: list[Path], workers: int, commit_batch: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The image channel's ingest path over files; steady state excludes worker start-up and the first batch."""
    from shashin.ingest.decode import DecodeJob, DecodePool

    rendition = {"image": model.rendition()}
    started = time.perf_counter()
    steady_from, steady_photos, done = 0.0, 0, 0
    with DecodePool(workers, ahead=2 * commit_batch) as pool:
        batch: list = []
        for _, photo in pool.decode(DecodeJob(str(p), p.name, 200_000_000, rendition) for p in paths):
            batch.append(photo.renditions["image"])
            if len(batch) == commit_batch:
                model.embed_prepared(batch)
                done += len(batch)
                if not steady_from:
                    steady_from = time.perf_counter()
                else:
                    steady_photos += len(batch)
                batch = []
        if batch:
            model.embed_prepared(batch)
            done += len(batch)
            steady_photos += len(batch)
    finished = time.perf_counter()
    return {
        "photos": done,
        "total_photos_per_s": done / (finished - started),
        "steady_photos_per_s": steady_photos / (finished - steady_from) if steady_from else 0.0,
    }


def decode_only(model, paths: list[Path], workers: int) -> float:  # type: ignore[no-untyped-def]
    from shashin.ingest.decode import DecodeJob, DecodePool

    rendition = {"image": model.rendition()}
    with DecodePool(workers, ahead=512) as pool:
        iterator = pool.decode(DecodeJob(str(p), p.name, 200_000_000, rendition) for p in paths)
        next(iterator)  # workers started
        started = time.perf_counter()
        count = sum(1 for _ in iterator)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=8192)
    parser.add_argument("--size", default="640x480", help="generated photo size, WxH (default 640x480, like COCO)")
    parser.add_argument(
        "--workers", type=int, default=-1, help="decode processes (default: as shashin chooses for a GPU)"
    )
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".bench")))
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu only to try the script")
    parser.add_argument("--shape", default=SHAPE, help=f"model shape (default {SHAPE}; 'tiny' to try the script)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    import transformers
    from tools.random_models import build_tiny_model

    from shashin.models.image_text import ImageTextModel

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device here")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    cores = os.cpu_count() or 1
    workers = args.workers if args.workers >= 0 else max(1, min(cores - 2, 32))
    print(
        f"{name} · {cores} cores · Python {platform.python_version()} · torch {torch.__version__} · transformers {transformers.__version__}",
        flush=True,
    )

    work = Path(tempfile.mkdtemp(prefix="shashin-gpu-"))
    started = time.perf_counter()
    folder = build_tiny_model("siglip2-fixres", work / args.shape, shape=args.shape, dtype=torch.bfloat16)
    print(f"random {args.shape} checkpoint written in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    photos = work / "photos"
    photos.mkdir()
    paths = make_photos(photos, args.photos, width, height)
    size_kb = sum(p.stat().st_size for p in paths[:200]) / 200 / 1024
    print(
        f"{len(paths)} JPEGs of {width}×{height} (~{size_kb:.0f} KB) written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    model = ImageTextModel(str(folder), device=args.device)
    model.load()
    print(
        f"model on {model.device} in {model._torch_dtype}, batch {model.batch_size}, geometry {model.rendition().geometry}",
        flush=True,
    )
    from PIL import Image

    sample = model.prepare([Image.open(p).convert("RGB") for p in paths[: model.batch_size]])
    batch = {key: np.stack([item[key] for item in sample]) for key in sample[0]}
    results: dict[str, object] = {
        "gpu": name,
        "cores": cores,
        "workers": workers,
        "photo_size": args.size,
        "photos": len(paths),
    }
    results["model_only_photos_per_s"] = model_only(model, batch)
    print(
        f"model only (batch {model.batch_size}, data on the GPU): {results['model_only_photos_per_s']:.0f} photos/s",
        flush=True,
    )
    results["decode_only_photos_per_s"] = decode_only(model, paths[: min(len(paths), 4096)], workers)
    print(f"decoding alone, {workers} workers: {results['decode_only_photos_per_s']:.0f} photos/s", flush=True)
    e2e = end_to_end(model, paths, workers, commit_batch=4 * model.batch_size)
    results.update({f"end_to_end_{k}": v for k, v in e2e.items()})
    ratio = e2e["steady_photos_per_s"] / results["model_only_photos_per_s"]  # type: ignore[operator]
    results["end_to_end_vs_model_only"] = ratio
    print(
        f"end to end, {workers} decode workers: {e2e['steady_photos_per_s']:.0f} photos/s steady "
        f"({e2e['total_photos_per_s']:.0f} including worker start-up) = {ratio:.0%} of model only",
        flush=True,
    )
    print(
        f"goals: end to end ≥ 75 % of model only: {'met' if ratio >= 0.75 else 'NOT met'}; "
        f"≥ 1,500 photos/s: {'met' if e2e['steady_photos_per_s'] >= 1500 else 'NOT met'}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_embed.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
