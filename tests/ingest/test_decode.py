"""Decoding in worker processes: same results as in-process, and a crashed worker costs nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from shashin import Library
from shashin.config import load_settings
from shashin.ingest.decode import DecodeJob, DecodePool
from shashin.media import MaxSide, MediaError
from tests.conftest import TEXT_PHOTOS


def jobs(folder: Path) -> list[DecodeJob]:
    return [DecodeJob(str(folder / name), name, 50_000_000, {"ocr": MaxSide(640)}, 128) for name in TEXT_PHOTOS]


def test_workers_decode_like_in_process(text_photos: Path) -> None:
    with DecodePool(0) as inline, DecodePool(2) as workers:
        expected = [
            (job.photo_id, photo.metadata, photo.renditions["ocr"].shape)
            for job, photo in inline.decode(jobs(text_photos))
        ]
        got = [
            (job.photo_id, photo.metadata, photo.renditions["ocr"].shape)
            for job, photo in workers.decode(jobs(text_photos))
        ]
    assert got == expected  # same photos, same order


def test_killed_worker_only_costs_a_retry(text_photos: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    work = [*jobs(text_photos), DecodeJob(str(bad), "bad", 50000000, {"ocr": MaxSide(640)}, 128)]
    results = []
    with DecodePool(1) as pool:
        for number, (job, result) in enumerate(pool.decode(work)):
            results.append((job.photo_id, result))
            if number == 0:  # a decoder dies (as on a hostile file) with jobs in flight
                crashed = pool._executor
                for process in list(crashed._processes.values()):  # type: ignore[union-attr]
                    os.kill(process.pid, signal.SIGKILL)
        assert pool._executor is not crashed  # the broken pool was replaced
    assert [photo_id for photo_id, _ in results] == [job.photo_id for job in work]
    assert all(not isinstance(result, MediaError) for photo_id, result in results if photo_id != "bad")
    assert isinstance(results[-1][1], MediaError) and "not a readable image" in str(results[-1][1])


def test_index_with_decode_workers(tmp_path: Path, text_photos: Path, indexed) -> None:  # type: ignore[no-untyped-def]
    reference, _ = indexed
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "workers": 2}))
    report = library.index([text_photos])
    assert report.new_photos == len(TEXT_PHOTOS) and not report.failed
    for query in ("ポイ捨て", "wet floor", "営業中"):
        assert [r.path for r in library.search(query).results] == [r.path for r in reference.search(query).results]
