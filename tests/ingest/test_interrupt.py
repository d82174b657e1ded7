"""kill -9 in the middle of indexing: the library still opens and a rerun finishes only what is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shashin.store import Store
from tests.conftest import run_cli
from tools.render import Sign, save

PHOTOS = 24


def ocr_done(db: Path) -> tuple[int, int]:
    """(photos, photos with OCR done) as committed so far."""
    try:
        store = Store(db, create=False)
    except Exception:
        return 0, 0
    done = sum(1 for _, status in store.channel_states("ocr").values() if status == "done")
    return store.count_photos(), done


def index_until_killed(folder: Path, db: Path, at_least: int) -> None:
    """Start `shashin index` and SIGKILL it (and its decode workers) once `at_least` photos have OCR."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shashin", "index", str(folder), "--db", str(db), "--batch-size", "2", "--quiet"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while ocr_done(db)[1] < at_least:
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "indexing made no progress"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def many_photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for number in range(PHOTOS):
        save(Sign([f"ROOM {number:02d}"], seed=number, size=(480, 300)), folder / f"room-{number:02d}.jpg")
    return folder


def test_killed_runs_resume_without_redoing_work(tmp_path: Path, many_photos: Path) -> None:
    db = tmp_path / "db"
    index_until_killed(many_photos, db, at_least=4)
    photos_1, done_1 = ocr_done(db)
    assert 4 <= done_1 < PHOTOS

    index_until_killed(many_photos, db, at_least=done_1 + 4)
    photos_2, done_2 = ocr_done(db)
    assert done_1 < done_2 < PHOTOS

    result = run_cli("index", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new_photos"] == PHOTOS - photos_2
    assert report["channels"]["ocr"]["processed"] == PHOTOS - done_2  # only the unfinished work
    assert report["errors"] == []
    assert ocr_done(db) == (PHOTOS, PHOTOS)

    search = json.loads(run_cli("search", "ROOM 17", "--db", str(db), "--json", check=True).stdout)
    assert search["results"][0]["path"] == str(many_photos / "room-17.jpg")
    status = json.loads(run_cli("status", "--db", str(db), "--json", check=True).stdout)
    assert status["photos"] == status["files"] == PHOTOS
    assert status["channels"]["ocr"]["pending"] == 0
