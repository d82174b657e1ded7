"""Decoding in worker processes, so models never wait on JPEG decoding and a decoder crash costs one file."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from shashin.media import DecodedPhoto, MediaError, Rendition, decode_photo


@dataclass(frozen=True)
class DecodeJob:
    """One file to decode, and what to make of it: each channel's rendition, a thumbnail or not."""

    path: str
    photo_id: str
    max_pixels: int
    renditions: dict[str, Rendition] = field(default_factory=dict)
    thumbnail_size: int = 0  # 0: no thumbnail (the photo already has one)
    fingerprint: bool = False  # name its pixels (new photos, and photos whose metadata is read again)


def run_job(job: DecodeJob) -> DecodedPhoto:
    """Decode one file (in a worker process or in-process)."""
    return decode_photo(
        job.path,
        job.photo_id,
        max_pixels=job.max_pixels,
        renditions=job.renditions,
        thumbnail_size=job.thumbnail_size,
        fingerprint=job.fingerprint,
    )


class DecodePool:
    """Decodes jobs in `workers` processes (0 = in this process), yielding results in job order."""

    def __init__(self, workers: int, ahead: int = 0) -> None:
        self.workers = workers
        # Jobs queued beyond the workers: enough to fill the next model batch while this one runs.
        self.ahead = max(ahead, workers * 4)
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def decode(self, jobs: Iterable[DecodeJob]) -> Iterator[tuple[DecodeJob, DecodedPhoto | MediaError]]:
        """(job, decoded photo or the reason it failed) for every job, in order."""
        if self.workers <= 0:
            for job in jobs:
                yield job, attempt(job)
            return
        in_flight: deque[tuple[DecodeJob, Future]] = deque()
        pending = iter(jobs)
        while True:
            while len(in_flight) < self.ahead:
                upcoming = next(pending, None)
                if upcoming is None:
                    break
                job = upcoming
                in_flight.append((job, self._pool().submit(run_job, job)))
            if not in_flight:
                return
            job, future = in_flight.popleft()
            try:
                yield job, future.result()
            except MediaError as exc:
                yield job, exc
            except BrokenProcessPool:
                # A decoder crashed the pool (a hostile or broken file). Every job in flight died
                # with it; retry each alone so only the guilty file is reported.
                suspects = [job] + [queued for queued, _ in in_flight]
                in_flight.clear()
                self._abandon()
                for suspect in suspects:
                    yield suspect, _isolated(suspect)
            except Exception as exc:  # an unexpected decoder exception is still one file's problem
                yield job, _unexpected(exc)

    def _abandon(self) -> None:
        # Joining a pool whose worker died can deadlock (CPython's executor); let it go instead.
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: forking a process that runs onnxruntime threads is unsafe.
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_single_threaded
            )
        return self._executor


def _single_threaded() -> None:
    # Many decode processes each starting a thread per core (torch, OpenCV, BLAS) would oversubscribe.
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"


def attempt(job: DecodeJob) -> DecodedPhoto | MediaError:
    """Decode one job here; any failure, expected or not, becomes that file's MediaError."""
    try:
        return run_job(job)
    except MediaError as exc:
        return exc
    except Exception as exc:  # an unexpected decoder exception is still one file's problem
        return _unexpected(exc)


def _unexpected(exc: Exception) -> MediaError:
    return MediaError(f"could not decode: {type(exc).__name__}: {exc}")


def _isolated(job: DecodeJob) -> DecodedPhoto | MediaError:
    solo = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_single_threaded)
    try:
        return solo.submit(run_job, job).result()
    except MediaError as exc:
        return exc
    except BrokenProcessPool:
        return MediaError("the image decoder crashed on this file (it is damaged or hostile)")
    except Exception as exc:
        return _unexpected(exc)
    finally:
        solo.shutdown(wait=False)  # never join a pool that may have lost its worker
