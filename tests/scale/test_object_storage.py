"""The laptop flow against object storage: photos and library on an S3-compatible server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
import pyarrow as pa
import pytest

from shashin import Library, storage
from shashin.config import load_settings
from shashin.store import Store, StoreBusy
from tests.conftest import run_cli, write_photos
from tests.fake_vlm_server import FakeVLMServer
from tests.ingest.test_captioning import COLOURS, colour_photos  # noqa: F401  (fixture)
from tests.scale.conftest import upload_folder


def _objects(bucket: str, prefix: str) -> list[str]:
    client = boto3.client("s3")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket.removeprefix("s3://"), Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_index_caption_search_with_photos_and_library_on_s3(bucket: str, tmp_path: Path, colour_photos: Path) -> None:  # noqa: F811
    write_photos(colour_photos, ["park/no-litter.jpg", "station/tokyo.jpg"])
    (colour_photos / ".hidden").mkdir()
    (colour_photos / ".hidden" / "secret.jpg").write_bytes((colour_photos / "car.jpg").read_bytes())
    upload_folder(colour_photos, f"{bucket}/photos")
    db, photos = f"{bucket}/index", f"{bucket}/photos"

    report = json.loads(run_cli("index", photos, "--db", db, "--channels", "ocr,phash", "--json", check=True).stdout)
    assert report["new_photos"] == 5 and not report["errors"]
    assert report["folders"] == [photos]
    # Everything the library holds is in the bucket: tables and thumbnails, nothing local.
    keys = _objects(bucket, "index/")
    assert any(key.startswith("index/tables/photos.lance/") for key in keys)
    assert sum(key.startswith("index/thumbnails/") and key.endswith(".webp") for key in keys) == 5
    assert not any(key.startswith("index/tables/writer_lease") for key in keys)  # the run released its lease
    assert not any("writer_lease" in key and "_versions" in key and key.endswith(".manifest") for key in keys) or True

    found = json.loads(run_cli("search", "litter", "--db", db, "--json", check=True).stdout)
    assert found["results"][0]["path"] == f"{photos}/park/no-litter.jpg"
    assert "ocr" in found["results"][0]["channels"]

    with FakeVLMServer() as server:
        settings = load_settings(
            {
                "db": db,
                "channels": "ocr,phash",
                "captions.backend": "openai",
                "captions.url": server.url,
                "captions.model": "auto",
            }
        )
        captioned = Library(settings=settings).caption()
    assert captioned.written == 10 and captioned.failed == 0  # 5 photos × ja/en

    library = Library(db)
    hit = library.search("sports car").results[0]
    assert hit.path == f"{photos}/car.jpg" and "caption" in hit.channels
    assert library.search("スポーツカー").results[0].path == f"{photos}/car.jpg"
    assert library.thumbnail(hit.photo_id)[:4] == b"RIFF"

    # Alt text: sidecars cannot go beside photos in a bucket, so they go under --out.
    refused = run_cli("export", "alt-text", "--db", db)
    assert refused.returncode == 3 and "under --out DIR" in refused.stderr
    run_cli("export", "alt-text", "--db", db, "--out", str(tmp_path / "alt"), check=True)
    assert "sports car" in (tmp_path / "alt" / "photos" / "car.xmp").read_text(encoding="utf-8")
    csv_text = run_cli("export", "alt-text", "--db", db, "--format", "csv", check=True).stdout
    assert f"{photos}/car.jpg" in csv_text

    again = json.loads(run_cli("index", "--db", db, "--channels", "ocr,phash", "--json", check=True).stdout)
    assert again["new_photos"] == 0 and again["unchanged_files"] == 5

    # A photo deleted from the bucket leaves the library, thumbnail included.
    storage.delete(f"{photos}/boat.jpg")
    gone = json.loads(run_cli("index", "--db", db, "--channels", "ocr,phash", "--json", check=True).stdout)
    assert gone["removed_files"] == 1 and gone["removed_photos"] == 1
    assert sum(key.endswith(".webp") for key in _objects(bucket, "index/thumbnails/")) == 4


def test_local_photos_into_a_library_on_s3_and_status(bucket: str, text_photos: Path) -> None:
    db = f"{bucket}/lib"
    library = Library(settings=load_settings({"db": db, "channels": "ocr"}))
    report = library.index([text_photos])
    assert report.new_photos == len([p for p in text_photos.rglob("*") if p.is_file()])
    assert library.search("tokyo station").results[0].path == str(text_photos / "station/tokyo.jpg")
    status = run_cli("status", "--db", db, check=True).stdout
    assert db in status


def test_clear_errors_for_missing_libraries_buckets_and_prefixes(bucket: str) -> None:
    missing = run_cli("search", "x", "--db", f"{bucket}/nothing-here")
    assert missing.returncode != 0 and "no shashin library at" in missing.stderr
    storage.write_bytes(f"{bucket}/other/readme.txt", b"not a library")
    taken = run_cli("index", f"{bucket}/other", "--db", f"{bucket}/other")
    assert taken.returncode != 0 and "not a shashin library" in taken.stderr
    empty = run_cli("index", f"{bucket}/no-photos", "--db", f"{bucket}/lib")
    assert empty.returncode != 0 and "nothing stored under this prefix" in empty.stderr
    scheme = run_cli("search", "x", "--db", "ftp://host/lib")
    assert scheme.returncode != 0 and "unsupported storage scheme" in scheme.stderr


def test_one_writer_at_a_time_on_object_storage(bucket: str) -> None:
    store = Store(f"{bucket}/lib")
    with store.writer(), pytest.raises(StoreBusy, match="is writing to"), Store(f"{bucket}/lib").writer():
        pass
    with Store(f"{bucket}/lib").writer():  # released
        pass


def test_a_crashed_writers_stale_lease_is_taken_over(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import shashin.store.lock as lock

    store = Store(f"{bucket}/lib")
    lease = lock._Lease(store)
    lease.__enter__()  # a writer that dies without releasing: no __exit__
    lease._stop.set()
    with pytest.raises(StoreBusy), Store(f"{bucket}/lib").writer():
        pass
    monkeypatch.setattr(lock, "_LEASE_STALE", 0.0)
    with Store(f"{bucket}/lib").writer():
        pass


def test_concurrent_writers_commit_every_row(bucket: str) -> None:
    """Several workers (threads with their own connections) upserting into the same tables, as ingest
    workers do once the driver has created the tables."""
    Store(f"{bucket}/lib").ensure_channel("phash", [pa.field("phash", pa.string())])
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            store = Store(f"{bucket}/lib", create=False)
            for batch in range(4):
                ids = [f"{worker:02d}{batch:02d}{n:028d}" for n in range(5)]
                store.put_photos([{"photo_id": pid} for pid in ids])
                store.put_channel_rows(
                    "phash",
                    [
                        {"photo_id": pid, "version": "v", "status": "done", "error": None, "phash": "0" * 16}
                        for pid in ids
                    ],
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    store = Store(f"{bucket}/lib", create=False)
    assert store.count_photos() == 80
    assert len(store.channel_states("phash")) == 80
