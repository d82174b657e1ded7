"""Caption throughput of the transformers backend on a GPU: batched end to end vs one at a time.

The model has the shape of Qwen/Qwen2.5-VL-7B-Instruct (random weights, built on the GPU: nothing
can be downloaded there; speed does not depend on the values). Photos are 900×600 JPEGs generated
on the spot: 672 image tokens each. Every caption is forced to 64 new tokens (min_new_tokens), as
random weights would otherwise stop at random. End to end = files → decode workers (JPEG decode,
smart resize, 8-bit patches) → our backend's batched generate → text.

    PYTHONPATH=src:. python bench/gpu_caption.py [--photos 768] [--batch 256] [--single 4] [--out DIR]

Reference (issue 4, one H200, plain generate): one at a time 0.31 captions/s, batch 64 6.85/s,
batch 256 9.3/s. Goal: ≥ 15 captions/s end to end.
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

PROMPT = "Describe this image in one sentence."
NEW_TOKENS = 64


def _write_photo(job: tuple[str, int]) -> None:
    from PIL import Image

    path, seed = job
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 18, 3), dtype=np.uint8)).resize(
        (900, 600), Image.Resampling.BICUBIC
    )
    pixels = np.asarray(coarse, dtype=np.int16) + rng.integers(-6, 7, (600, 900, 3), dtype=np.int16)
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=90)


def build_backend(shape: str, device: str):  # type: ignore[no-untyped-def]
    """Our TransformersVL backend around a random model built directly on the device."""
    import transformers as tf
    from tools.random_models import qwen_image_processor, qwen_tokenizer, qwen_vl_config

    from shashin.config import load_settings
    from shashin.models.vlm.transformers_vl import TransformersVL

    tokenizer = qwen_tokenizer()
    config = qwen_vl_config(tokenizer, shape, vocab_size=152_064 if shape != "tiny" else 0)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    torch.set_default_dtype(dtype)
    with torch.device(device):
        model = tf.Qwen2_5_VLForConditionalGeneration(config).eval()
    torch.set_default_dtype(torch.float32)
    model.generation_config.eos_token_id = [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    model.generation_config.pad_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    settings = load_settings(
        {"captions.model": "random-qwen2.5-vl", "captions.max_pixels": 768 * 28 * 28, "captions.device": device}
    )
    backend = TransformersVL(settings.captions)
    # The loading path is tested elsewhere; here the model is built in place (no download, no disk).
    backend._model, backend._tokenizer, backend._image_processor = model, tokenizer, qwen_image_processor()
    backend._device, backend._chat_template, backend._processor = device, tokenizer.chat_template, None
    backend.generate_options = {"min_new_tokens": NEW_TOKENS}
    return backend


def one_at_a_time(backend, paths: list[Path]) -> float:  # type: ignore[no-untyped-def]
    from shashin.media import decode_photo
    from shashin.models.vlm.base import GenerationParams

    params = GenerationParams(NEW_TOKENS)
    started = time.perf_counter()
    for path in paths:
        photo = decode_photo(str(path), path.name, max_pixels=200_000_000, renditions={"caption": backend.rendition()})
        [text] = backend.caption([photo.renditions["caption"]], PROMPT, params)
        assert isinstance(text, str), text
    return len(paths) / (time.perf_counter() - started)


def batched_end_to_end(backend, paths: list[Path], batch_size: int, workers: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from shashin.ingest.decode import DecodeJob, DecodePool
    from shashin.models.vlm.base import GenerationParams

    params = GenerationParams(NEW_TOKENS)
    rendition = {"caption": backend.rendition()}
    started = time.perf_counter()
    first_done, steady = 0.0, 0
    batch: list = []
    done = 0
    with DecodePool(workers, ahead=2 * batch_size) as pool:
        for _, photo in pool.decode(DecodeJob(str(p), p.name, 200_000_000, rendition) for p in paths):
            batch.append(photo.renditions["caption"])
            if len(batch) == batch_size:
                outputs = backend.caption(batch, PROMPT, params)
                assert all(isinstance(o, str) for o in outputs), next(o for o in outputs if not isinstance(o, str))
                done += len(batch)
                if first_done:
                    steady += len(batch)
                else:
                    first_done = time.perf_counter()
                batch = []
    finished = time.perf_counter()
    return {
        "captions": done,
        "total_captions_per_s": done / (finished - started),
        "steady_captions_per_s": steady / (finished - first_done) if steady else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=768)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--single", type=int, default=4, help="photos captioned one at a time (the baseline)")
    parser.add_argument("--workers", type=int, default=-1)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--shape", default="qwen2.5-vl-7b", help="qwen2.5-vl-7b (default) or tiny, to try the script")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".bench")))
    parser.add_argument("--try-static", action="store_true", help="then also try a static KV cache (compiled decoding)")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device here")
    import transformers

    cores = os.cpu_count() or 1
    workers = args.workers if args.workers >= 0 else max(1, min(cores - 2, 32))
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(
        f"{name} · {cores} cores · Python {platform.python_version()} · torch {torch.__version__} · transformers {transformers.__version__}",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="shashin-caption-"))
    paths = [work / f"{n:05d}.jpg" for n in range(args.photos)]
    started = time.perf_counter()
    with get_context("spawn").Pool(cores) as pool:
        pool.map(_write_photo, [(str(p), n) for n, p in enumerate(paths)], chunksize=16)
    print(f"{len(paths)} JPEGs of 900×600 written in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    backend = build_backend(args.shape, args.device)
    print(
        f"random {args.shape} built on {args.device} in {time.perf_counter() - started:.1f} s "
        f"({sum(p.numel() for p in backend._model.parameters()) / 1e9:.2f} B parameters)",
        flush=True,
    )
    from PIL import Image

    sample = backend.inputs([backend.rendition().render(Image.open(paths[0]).convert("RGB"))], PROMPT)
    image_tokens = int(sample["image_grid_thw"][0].prod()) // 4
    print(
        f"a 900×600 photo is {image_tokens} image tokens; prompt {sample['input_ids'].shape[1]} tokens; {NEW_TOKENS} new tokens forced",
        flush=True,
    )

    results: dict[str, object] = {
        "gpu": name,
        "shape": args.shape,
        "image_tokens": image_tokens,
        "new_tokens": NEW_TOKENS,
        "workers": workers,
    }
    one_at_a_time(backend, paths[:1])  # warm-up
    results["one_at_a_time_captions_per_s"] = single = one_at_a_time(backend, paths[1 : 1 + args.single])
    print(f"one at a time: {single:.2f} captions/s", flush=True)
    e2e = batched_end_to_end(backend, paths, args.batch, workers)
    results.update({f"batch{args.batch}_{k}": v for k, v in e2e.items()})
    print(
        f"batch {args.batch}, end to end with {workers} decode workers: {e2e['steady_captions_per_s']:.2f} captions/s steady "
        f"({e2e['total_captions_per_s']:.2f} overall) = {e2e['steady_captions_per_s'] / single:.1f}× one at a time",
        flush=True,
    )
    if torch.cuda.is_available():
        results["max_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
        print(f"peak GPU memory {results['max_memory_gib']:.1f} GiB")
    print(f"goal ≥ 15 captions/s end to end: {'met' if e2e['steady_captions_per_s'] >= 15 else 'NOT met'}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_caption.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.try_static:
        # transformers compiles the decoding step itself when the KV cache is static.
        backend.generate_options = {"min_new_tokens": NEW_TOKENS, "cache_implementation": "static"}
        started = time.perf_counter()
        try:
            static = batched_end_to_end(backend, paths[: 3 * args.batch], args.batch, workers)
        except Exception as exc:
            print(f"static cache: failed: {type(exc).__name__}: {exc}")
            return
        results.update({f"static_batch{args.batch}_{k}": v for k, v in static.items()})
        print(
            f"batch {args.batch} with a static KV cache (compiled decoding): {static['steady_captions_per_s']:.2f} captions/s steady "
            f"({time.perf_counter() - started:.0f} s with compilation)",
            flush=True,
        )
        (args.out / "gpu_caption.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
