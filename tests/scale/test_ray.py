"""Distributed ingest on a local Ray cluster (2 worker CPUs) into a library on S3."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra")

from tools.render import Sign, save  # noqa: E402

from shashin import Library  # noqa: E402
from shashin.config import load_settings  # noqa: E402
from shashin.scale.ray_ingest import RayOptions  # noqa: E402
from shashin.store import Store  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.fake_vlm_server import FakeVLMServer  # noqa: E402
from tests.ingest.test_captioning import colour_photos  # noqa: E402,F401  (fixture)
from tests.scale.conftest import upload_folder  # noqa: E402

ROOMS = 12


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A Ray cluster on this machine with 2 CPUs: one channel actor and the writers share them."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def rooms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOMS distinct photos of door signs ("ROOM 0" … "ROOM 11")."""
    folder = tmp_path_factory.mktemp("rooms") / "photos"
    for number in range(ROOMS):
        save(
            Sign([f"ROOM {number}"], seed=200 + number, size=(640, 400)),
            folder / f"floor{number % 3}" / f"room-{number}.jpg",
        )
    return folder


def _settings(db: str) -> dict[str, object]:
    return {"db": db, "channels": "ocr,phash", "batch_size": 2}


def _worker_pids(name: str) -> list[int]:
    """Ray worker processes whose title names `name` (Ray titles its workers "ray::Actor…")."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    title = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("ray::") and name in title:
                pids.append(int(entry))
    return pids


def _assert_complete(db: str, photos: int) -> None:
    store = Store(db, create=False)
    assert store.count_photos() == photos
    for table in ("photos", "channel_ocr", "channel_phash"):
        rows = store._scan(table, ["photo_id"]).column("photo_id").to_pylist()
        assert len(rows) == len(set(rows)) == photos, table  # every photo once: retried batches leave no duplicates
    assert {status for _, status in store.channel_states("ocr").values()} == {"done"}


def test_ray_index_into_s3_matches_a_local_run(cluster: None, bucket: str, tmp_path: Path, rooms: Path) -> None:
    upload_folder(rooms, f"{bucket}/photos")
    db = f"{bucket}/index"
    report = Library(settings=load_settings(_settings(db))).index(
        [f"{bucket}/photos"], cluster=RayOptions(address="auto")
    )
    assert report.new_photos == ROOMS and report.photos_processed == ROOMS and not report.errors
    assert report.channels["ocr"].processed == ROOMS and report.channels["phash"].processed == ROOMS
    _assert_complete(db, ROOMS)

    local_db = tmp_path / "local"
    Library(settings=load_settings(_settings(str(local_db)))).index([rooms])
    remote, local = Store(db, create=False), Store(local_db, create=False)
    assert remote.photo_ids() == local.photo_ids()  # same content ids
    ids = sorted(local.photo_ids())
    texts = lambda store: {k: v["text"] for k, v in store.channel_rows("ocr", ids, ["text"]).items()}  # noqa: E731
    assert texts(remote) == texts(local)  # same channel outputs, computed on the workers
    hit = Library(db).search("ROOM 7").results[0]
    assert hit.path == f"{bucket}/photos/floor1/room-7.jpg"

    again = Library(settings=load_settings(_settings(db))).index(cluster=RayOptions(address="auto"))
    assert again.new_photos == 0 and again.photos_processed == 0  # rerunning skips what is done


def test_a_killed_worker_loses_nothing(cluster: None, bucket: str, rooms: Path) -> None:
    db = f"{bucket}/index"
    library = Library(settings=load_settings(_settings(db)))
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["report"] = library.index([rooms], cluster=RayOptions(address="auto"))
        except BaseException as exc:
            outcome["error"] = exc

    indexing = threading.Thread(target=run)
    indexing.start()
    killed: list[int] = []
    deadline = time.monotonic() + 240
    while indexing.is_alive() and not killed and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            started = len(Store(db, create=False).channel_states("ocr")) > 0
        except Exception:
            started = False
        workers = _worker_pids("_ChannelStage")
        if started and workers:
            os.kill(workers[0], signal.SIGKILL)  # mid-run: some batches committed, others in flight
            killed.append(workers[0])
    indexing.join(300)
    assert killed, "the run finished before a worker could be killed"
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert report.new_photos >= 0 and not report.errors
    _assert_complete(db, ROOMS)
    assert Library(db).search("ROOM 9").results[0].path == str(rooms / "floor0" / "room-9.jpg")


def test_cli_index_with_ray_attaches_to_the_running_cluster(cluster: None, bucket: str, text_photos: Path) -> None:
    db = f"{bucket}/cli"
    result = run_cli("index", str(text_photos), "--db", db, "--channels", "ocr", "--ray", "auto", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new_photos"] == len([p for p in text_photos.rglob("*") if p.is_file()])
    found = json.loads(run_cli("search", "tokyo station", "--db", db, "--json", check=True).stdout)
    assert found["results"][0]["path"] == str(text_photos / "station/tokyo.jpg")


def test_captions_on_ray_workers_share_a_pool_of_servers(cluster: None, bucket: str, colour_photos: Path) -> None:  # noqa: F811
    db = f"{bucket}/captions"
    Library(settings=load_settings({"db": db, "channels": "phash"})).index([colour_photos])
    with FakeVLMServer() as first, FakeVLMServer() as second:
        settings = load_settings(
            {
                "db": db,
                "channels": "phash",
                "captions.backend": "openai",
                "captions.model": "auto",
                "captions.url": f"{first.url},{second.url}",
                "captions.batch_size": 2,
            }
        )
        report = Library(settings=settings).caption(cluster=RayOptions(address="auto"))
        assert (report.written, report.failed, report.model) == (6, 0, "fake-vlm")
        assert len(first.script.requests) + len(second.script.requests) == 6
        again = Library(settings=settings).caption(cluster=RayOptions(address="auto"))
        assert again.written == 0 and again.skipped == 6  # rerunning skips what is done
    rows = Store(db, create=False).captions()
    assert {row["backend"] for row in rows} == {"openai"} and len(rows) == 6
    assert report.embedded == 6  # caption vectors computed by the driver afterwards, as locally
    assert Library(db).search("sports car").results[0].path == str(colour_photos / "car.jpg")


def test_ray_missing_cluster_is_a_clear_error(text_photos: Path, tmp_path: Path) -> None:
    result = run_cli("index", str(text_photos), "--db", str(tmp_path / "db"), "--ray", "127.0.0.1:1", timeout=120)
    assert result.returncode == 1 and "cannot reach the Ray cluster" in result.stderr
