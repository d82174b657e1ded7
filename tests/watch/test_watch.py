"""The watcher keeps a library current: index runs over only the paths that changed, and the real
`shashin watch` command following a folder as photos are copied in, deleted and moved, waiting
for another writer, shown by `shashin status`, stopped cleanly by SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.store import Store, StoreBusy
from tests.conftest import REPO

SAMPLES = REPO / "samples"
FAST = {"channels": "phash"}  # no model: the watcher, not the channels, is under test


def _library(db: Path) -> Library:
    return Library(settings=load_settings({"db": str(db), **FAST}))


def _names(library: Library) -> list[str]:
    store = Store(library.path, create=False)
    return sorted(Path(row.path).name for row in store.files().values())


def test_an_index_run_within_changed_paths_looks_nowhere_else(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(SAMPLES / "tokyo", photos / "tokyo")
    shutil.copytree(SAMPLES / "kyoto", photos / "kyoto")
    library = _library(tmp_path / "db")
    library.index([photos])
    (photos / "tokyo" / "exit.png").unlink()  # deleted, but outside the paths given: not looked at yet
    shutil.copy(SAMPLES / "conference" / "wet-floor-rotated.jpg", photos / "kyoto" / "new.jpg")
    (photos / "kyoto" / "cafe-menu.gif").unlink()
    report = library.index(within=[str(photos / "kyoto" / "new.jpg"), str(photos / "kyoto" / "cafe-menu.gif")])
    assert report.new_photos == 1 and report.removed_photos == 1 and report.files_found == 1
    assert "exit.png" in _names(library) and "cafe-menu.gif" not in _names(library)
    shutil.move(photos / "kyoto", photos / "moved")  # a folder moved: its old and new paths changed
    report = library.index(within=[str(photos / "kyoto"), str(photos / "moved")])
    assert report.new_photos == 0 and report.removed_photos == 0 and report.moved_files >= 1
    assert report.photos_processed == 0  # a move does no model work
    assert library.index().removed_photos == 1  # the full run finds exit.png gone


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


@pytest.mark.parametrize("poll", [None, 1.0], ids=["events", "polling"])
def test_the_watch_command_follows_a_folder(tmp_path: Path, poll: float | None) -> None:
    photos, db = tmp_path / "photos", tmp_path / "db"
    photos.mkdir()
    shutil.copy(SAMPLES / "tokyo" / "station.jpg", photos / "station.jpg")  # there before the watcher: caught up
    arguments = ["watch", str(photos), "--db", str(db), "--settle", "0.3", *(["--poll", str(poll)] if poll else [])]
    env = {**os.environ, "SHASHIN_CHANNELS": FAST["channels"]}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "shashin", *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        library = _library(db)
        _wait(lambda: (db / "watcher.json").exists() and "station.jpg" in _names(library), 60, "caught up")
        # A copy of a folder of photos, one file written slowly: found once complete, in few runs.
        shutil.copytree(SAMPLES / "kyoto", photos / "kyoto")
        slow = photos / "slow-park.jpg"
        data = (SAMPLES / "tokyo" / "2024-04-03_park-sign.jpg").read_bytes()
        with slow.open("wb") as f:
            for start in range(0, len(data), len(data) // 4 + 1):
                f.write(data[start : start + len(data) // 4 + 1])
                f.flush()
                time.sleep(0.4)
        took = _wait(
            lambda: {"kiyomizu.jpg", "cafe-menu.gif", "slow-park.jpg"} <= set(_names(library)), 30, "new photos indexed"
        )
        assert took < 10
        found = library.search("slow park")
        assert any(Path(r.path).name == "slow-park.jpg" for r in found.results)
        assert library.status().errors == []  # the whole file was read, not a part of it
        state = json.loads((db / "watcher.json").read_text())
        assert state["pid"] == watcher.pid and state["folders"] == [str(photos.resolve())]
        assert (state["polling"] is not None) == (poll is not None) and state["runs"] >= 2
        status = subprocess.run(
            [sys.executable, "-m", "shashin", "status", "--db", str(db)], capture_output=True, text=True, env=env
        )
        assert f"watcher pid {watcher.pid}" in status.stdout
        # Deleted and moved.
        (photos / "station.jpg").unlink()
        shutil.move(photos / "kyoto", photos / "trip")
        _wait(lambda: "station.jpg" not in _names(library), 20, "deleted photo gone")
        _wait(lambda: any("/trip/" in p for p in _paths(db)), 20, "moved folder followed")
        # Another process writing: the watcher waits for it, then indexes.
        store = Store(db, create=False)
        held: list[contextlib.AbstractContextManager[None]] = []
        _wait(lambda: _take(store, held), 30, "the writer lock, between two of the watcher's runs")
        try:
            shutil.copy(SAMPLES / "tokyo" / "exit.png", photos / "exit.png")
            time.sleep(3)
            assert "exit.png" not in _names(library)
        finally:
            held[0].__exit__(None, None, None)
        _wait(lambda: "exit.png" in _names(library), 30, "indexed after the other writer finished")
    finally:
        watcher.send_signal(signal.SIGTERM)
        output = watcher.communicate(timeout=60)[0].decode()
    assert watcher.returncode == 0, output
    assert "stopped" in output and "waiting: another shashin process" in output
    assert not (db / "watcher.json").exists()


def _take(store: Store, held: list[contextlib.AbstractContextManager[None]]) -> bool:
    lock = store.writer()
    try:
        lock.__enter__()
    except StoreBusy:
        return False
    held.append(lock)
    return True


def _paths(db: Path) -> list[str]:
    return [row.path for row in Store(db, create=False).files().values()]


def test_a_folder_in_object_storage_cannot_be_watched(tmp_path: Path) -> None:
    from shashin.watch.watcher import Watcher, WatchError

    with pytest.raises(WatchError, match="object storage"):
        Watcher(_library(tmp_path / "db"), ["s3://bucket/photos"])
    with pytest.raises(WatchError, match="no such folder"):
        Watcher(_library(tmp_path / "db"), [str(tmp_path / "missing")])


def test_serve_with_watch_starts_on_an_empty_library_and_finds_new_photos(tmp_path: Path) -> None:
    """What the container runs: `serve --folder /photos --watch` on a library that does not exist yet."""
    import socket

    import httpx

    photos, db = tmp_path / "photos", tmp_path / "db"
    shutil.copytree(SAMPLES / "tokyo", photos)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SHASHIN_CHANNELS": FAST["channels"], "SHASHIN_DB": str(db)}
    server = subprocess.Popen(
        [sys.executable, "-m", "shashin", "serve", "--port", str(port), "--folder", str(photos), "--watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def found(words: str) -> list[str]:
        try:
            answer = httpx.get(f"{url}/api/search", params={"q": words}, timeout=10)
        except httpx.HTTPError:
            return []
        return [Path(r["path"]).name for r in answer.json().get("results", [])] if answer.status_code == 200 else []

    try:
        _wait(lambda: "station.jpg" in found("station"), 60, "the folder indexed in the background")
        shutil.copy(SAMPLES / "kyoto" / "kiyomizu.jpg", photos / "kiyomizu.jpg")
        took = _wait(lambda: "kiyomizu.jpg" in found("kiyomizu"), 30, "a copied photo found through the API")
        assert took < 10
        assert httpx.get(f"{url}/api/status", timeout=10).json()["photos"] == 5
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert not (db / "watcher.json").exists()


def test_the_watcher_captions_new_photos_when_asked(tmp_path: Path) -> None:
    import threading

    import numpy as np
    from PIL import Image

    from shashin.watch.watcher import Watcher, WatchOptions
    from tests.fake_vlm_server import FakeVLMServer

    photos = tmp_path / "photos"
    photos.mkdir()
    with FakeVLMServer() as server:
        settings = load_settings(
            {**FAST, "db": str(tmp_path / "db"), "captions.backend": "openai", "captions.url": server.url}
        )
        library = Library(settings=settings)
        library.add_folders([photos])
        lines: list[str] = []
        watcher = Watcher(library, [str(photos)], WatchOptions(settle=0.3, caption=True), say=lines.append)
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,))
        thread.start()
        try:
            _wait(lambda: watcher.runs >= 1, 30, "caught up")
            Image.fromarray(np.full((200, 300, 3), (200, 30, 30), np.uint8)).save(photos / "red.png")
            _wait(lambda: len(Store(tmp_path / "db", create=False).captions()) >= 2, 30, "captions in en and ja")
        finally:
            stop.set()
            thread.join(timeout=60)
    assert not thread.is_alive()
    assert "wrote 2 captions (0 failed)" in lines, lines  # English and Japanese
