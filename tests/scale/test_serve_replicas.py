"""`shashin serve` as stateless replicas over one library on object storage."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from shashin import Library
from shashin.config import load_settings
from tests.conftest import write_photos
from tests.scale.conftest import upload_folder
from tests.web.conftest import LiveServer


def test_two_replicas_serve_one_s3_library_and_see_each_others_writes(bucket: str, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_photos(folder, ["park/no-litter.jpg", "station/tokyo.jpg", "street/car-park.jpg"])
    upload_folder(folder, f"{bucket}/photos")
    db = f"{bucket}/index"
    Library(settings=load_settings({"db": db, "channels": "ocr"})).index([f"{bucket}/photos"])

    # Each replica is its own process's worth of state: a Library of its own over the same prefix.
    with LiveServer(Library(db)) as first, LiveServer(Library(db)) as second:
        a, b = httpx.Client(base_url=first.url, timeout=30), httpx.Client(base_url=second.url, timeout=30)
        results = b.get("/api/search", params={"q": "car park"}).json()["results"]
        car = results[0]
        assert car["path"] == f"{bucket}/photos/street/car-park.jpg"
        assert (
            a.put(f"/api/photos/{car['photo_id']}/captions/en", json={"text": "a purple elephant crossing"}).status_code
            == 200
        )

        deadline = time.monotonic() + 10  # the other replica rechecks table versions every 0.5 s
        while True:
            found = b.get("/api/search", params={"q": "purple elephant"}).json()["results"]
            if found and found[0]["photo_id"] == car["photo_id"]:
                break
            assert time.monotonic() < deadline, "the second replica never saw the first one's caption"
            time.sleep(0.3)

        thumbnail = b.get(f"/api/photos/{car['photo_id']}/thumbnail")
        assert thumbnail.status_code == 200 and thumbnail.content[:4] == b"RIFF"
        original = a.get(f"/api/photos/{car['photo_id']}/file")  # streamed from the bucket
        assert original.status_code == 200 and original.content == (folder / "street/car-park.jpg").read_bytes()
        assert original.headers["content-type"] == "image/jpeg"
        page = b.get(f"/photo/{car['photo_id']}")
        assert page.status_code == 200 and "purple elephant" in page.text
