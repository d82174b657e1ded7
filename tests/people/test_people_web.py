"""People through the web: the People page, naming with its form, face crops, faces on a photo's
page, and the same operations in the API — against the real app on 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from shashin import Library
from shashin.config import load_settings
from tests.conftest import REPO
from tests.web.conftest import LiveServer

FACES = REPO.parent / "shared" / "data" / "faces-pd" / "images"
pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason="needs ../shared/data/faces-pd")


@pytest.fixture
def client(tmp_path: Path) -> httpx.Client:
    pytest.importorskip("dlib")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("obama_portrait_2012.jpg", "obama_congress_2009.jpg", "biden_blue_room_2010.jpg"):
        shutil.copy(FACES / name, folder / name)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "faces"}))
    library.index([folder])
    with LiveServer(library) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_people_are_listed_named_and_shown(client: httpx.Client) -> None:
    [obama] = client.get("/api/people").json()["people"]  # two photos of him; Biden's one face stays alone
    assert obama["faces"] == 2 and obama["name"] is None
    crop = client.get(f"/api/faces/{obama['sample_face']}/crop")
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
    page = client.get("/people").text
    assert obama["sample_face"] in page and "(no name)" in page
    secret = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post(f"/people/{obama['person_id']}/name", data={"name": "x", "csrf": "guess"}).status_code == 403
    named = client.post(f"/people/{obama['person_id']}/name", data={"name": "Barack Obama", "csrf": secret})
    assert named.status_code == 303
    found = client.get("/api/search", params={"q": "", "person": "Barack Obama"}).json()["results"]
    assert len(found) == 2
    photo = found[0]["photo_id"]
    assert "Barack Obama" in client.get(f"/photo/{photo}").text
    faces = client.get(f"/api/photos/{photo}/faces").json()["faces"]
    assert faces[0]["name"] == "Barack Obama"
    assert client.put(f"/api/people/{obama['person_id']}/name", json={"name": "Obama"}).json()["name"] == "Obama"
    assert client.get("/api/people/nobody/name").status_code in (404, 405)
    assert client.delete("/api/people/0000").status_code == 404
    gone = client.delete(f"/api/people/{obama['person_id']}").json()
    assert gone["faces_forgotten"] == 2 and client.get("/api/people").json()["people"] == []
