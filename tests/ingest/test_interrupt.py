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
from tools.render import Sign, save

from shashin.store import Store
from tests.conftest import run_cli

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
    index_until(db, lambda db: ocr_done(db)[1] >= at_least, str(folder), "--batch-size", "2")


@pytest.fixture
def many_photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for number in range(PHOTOS):
        save(Sign([f"ROOM {number:02d}"], seed=number, size=(480, 300)), folder / f"room-{number:02d}.jpg")
    return folder


def test_killed_runs_resume_without_redoing_work(tmp_path: Path, many_photos: Path) -> None:
    db = tmp_path / "db"
    index_until_killed(many_photos, db, at_least=4)
    _photos_1, done_1 = ocr_done(db)
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


def in_flight(db: Path, *, with_strikes: bool = False) -> list:  # type: ignore[type-arg]
    """The photos the in-flight marker names (what a run is working on), [] when there is none;
    `with_strikes`: (photo, deaths with it alone in flight so far)."""
    try:
        entries = json.loads((db / "in-flight.json").read_text())["photos"]
    except (OSError, ValueError, KeyError):
        return []
    if with_strikes:
        return [(entry["photo_id"], entry.get("strikes", 0)) for entry in entries]
    return [entry["photo_id"] for entry in entries]


def index_until(db: Path, condition, *args: str) -> None:  # type: ignore[no-untyped-def]
    """Start `shashin index` and SIGKILL it (and its decode workers), as the kernel's out-of-memory
    killer would, once `condition(db)`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shashin", "index", *args, "--db", str(db), "--quiet"], start_new_session=True
    )
    deadline = time.monotonic() + 240
    try:
        while not condition(db):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never reached the point to kill it"
            time.sleep(0.005)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def six_gates(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for number in range(6):
        save(Sign([f"GATE {number}", "出口"], seed=number, size=(1600, 1200)), folder / f"gate-{number}.jpg")
    return folder


def test_a_photo_that_killed_the_run_is_named_and_skipped(tmp_path: Path) -> None:
    """A process killed in the middle of a batch leaves its photos suspected: the next run works on
    them one at a time; a photo alone in flight when two runs die is recorded and skipped."""
    folder = six_gates(tmp_path)
    db = tmp_path / "db"
    index_until(db, lambda db: len(in_flight(db)) == 6, str(folder), "--batch-size", "16")
    assert len(in_flight(db)) == 6  # the marker outlives the killed process

    index_until(db, lambda db: len(in_flight(db)) == 1)  # the suspects are worked on alone
    culprit = in_flight(db)[0]
    # The next run works on it first, alone (its marker now counts one death), and dies again.
    index_until(db, lambda db: in_flight(db, with_strikes=True) == [(culprit, 1)])

    result = run_cli("index", "--db", str(db), "--json")
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert len(report["errors"]) == 1 and report["errors"][0]["stage"] == "crash"
    assert "died 2 times while working on this photo alone" in report["errors"][0]["message"]
    store = Store(db, create=False)
    assert culprit not in {pid for pid, (_, status) in store.channel_states("ocr").items() if status == "done"}
    assert store.count_photos() == 5 and not (db / "in-flight.json").exists()
    again = json.loads(run_cli("index", "--db", str(db), "--json").stdout)
    assert again["photos_processed"] == 0 and len(again["errors"]) == 1  # skipped while it is unchanged

    retried = run_cli("index", "--db", str(db), "--retry-failed", "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["new_photos"] == 1 and Store(db, create=False).count_photos() == 6


def test_two_kills_by_a_person_mark_no_photo(tmp_path: Path) -> None:
    """A person's kill -9 (of `watch`, of `index`) lands on whatever photo is in flight: before, the
    second kill marked a good photo `crash`, skipped until its file changed."""
    folder = six_gates(tmp_path)
    db = tmp_path / "db"
    index_until(db, lambda db: len(in_flight(db)) == 6, str(folder), "--batch-size", "16")
    index_until(db, lambda db: len(in_flight(db)) == 1)
    result = run_cli("index", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == [] and Store(db, create=False).count_photos() == 6
