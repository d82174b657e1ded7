"""Saved searches (live queries under a name) and facets (counts of the photos found, each with
the filter a click adds), through the library, the command, the REST API and the web page."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import httpx
import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.errors import NotFound, UsageError
from shashin.search.filters import build_filters
from tests.conftest import REPO, run_cli


@pytest.fixture
def library(tmp_path: Path) -> Library:
    photos = tmp_path / "photos"
    shutil.copytree(REPO / "samples", photos)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([photos])
    return library


def _names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(Path(r.path).name for r in response.results)


def test_facets_count_the_photos_found_and_their_filters_narrow_to_them(library: Library) -> None:
    found = library.search("sign", facets=True)
    assert _names(found) == ["2024-04-03_park-sign.jpg", "open-sign.heic"]
    facets = found.facets
    years = {v.value: v for v in facets["year"]}
    assert set(years) == {"2023", "2024"} and years["2024"].count == 1
    [camera] = facets["camera"]
    [place] = facets["place"]
    assert "Shinjuku" in place.value and place.filter["radius"] == "10"
    # Each facet's filter narrows the same search to the photos it counted.
    narrowed = library.search("sign", filters=build_filters(taken_from="2024", taken_to="2024"))
    assert _names(narrowed) == ["2024-04-03_park-sign.jpg"]
    by_camera = library.search("sign", filters=build_filters(cameras=[camera.filter["camera"]]))
    assert len(by_camera.results) == camera.count
    by_place = library.search("sign", filters=build_filters(near=place.filter["near"], radius_km=10))
    assert _names(by_place) == ["2024-04-03_park-sign.jpg"]
    assert "facets" not in library.search("sign").to_dict()  # only when asked for


def test_a_saved_search_is_a_live_query(library: Library, tmp_path: Path) -> None:
    saved = library.saved.save("Signs 2024", "sign", {"taken_from": "2024"})
    assert saved.describe().startswith("“sign”")
    assert _names(library.saved.run("signs 2024")) == ["2024-04-03_park-sign.jpg"]  # any case
    copy = tmp_path / "photos" / "later-sign.jpg"  # a photo indexed after it was saved is in it
    shutil.copy(tmp_path / "photos" / "tokyo" / "2024-04-03_park-sign.jpg", copy)
    copy.write_bytes(copy.read_bytes() + b"")  # the same photo under another name: a second file
    library.index()
    assert len(library.saved.run("Signs 2024").results) == 1
    library.saved.save("Signs 2024", "sign", {})  # replaced
    assert len(library.saved.all()) == 1 and len(library.saved.run("Signs 2024").results) == 2
    with pytest.raises(UsageError, match="does not exist|no such|not a date|2024-13"):
        library.saved.save("bad", "x", {"taken_from": "2024-13"})
    library.saved.remove("signs 2024")
    with pytest.raises(NotFound, match="no saved search named"):
        library.saved.run("Signs 2024")


def test_the_saved_command(library: Library) -> None:
    db = str(library.path)
    env = {"SHASHIN_CHANNELS": "phash"}
    added = run_cli("saved", "add", "Tokyo", "", "--near", "Tokyo", "--db", db, env=env)
    assert added.returncode == 0, added.stderr
    listed = run_cli("saved", "--db", db, "--json", env=env, check=True)
    assert '"name": "Tokyo"' in listed.stdout
    ran = run_cli("saved", "run", "tokyo", "--db", db, "--facets", env=env, check=True)
    assert "park-sign" in ran.stdout and "year:" in ran.stdout
    assert run_cli("saved", "run", "nothing", "--db", db, env=env).returncode == 1
    assert run_cli("saved", "remove", "Tokyo", "--db", db, env=env).returncode == 0
    assert "No saved searches yet" in run_cli("saved", "list", "--db", db, env=env, check=True).stdout


def test_saved_searches_and_facets_over_http(library: Library) -> None:
    from fastapi.testclient import TestClient

    from shashin.web import WebSettings, create_app

    client = TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1")
    client.headers["X-Shashin-CSRF"] = client.get("/api/csrf").json()["csrf"]  # writes come from our pages
    put = client.put("/api/saved/Signs", json={"query": "sign", "filters": {"from": "2024"}})
    assert put.status_code == 200 and put.json()["filters"] == {"taken_from": "2024"}
    [listed] = client.get("/api/saved").json()["saved"]
    assert listed["page"].startswith("/?q=sign&from=2024")
    results = client.get("/api/saved/signs/results", params={"facets": "true"}).json()
    assert [Path(r["path"]).name for r in results["results"]] == ["2024-04-03_park-sign.jpg"]
    assert results["facets"]["year"][0]["filter"] == {"from": "2024", "to": "2024"}
    assert client.get("/api/saved/none/results").status_code == 404
    page = client.get("/", params={"q": "sign"})
    assert "Saved searches" in page.text and 'data-facet="year"' in page.text
    assert client.put("/api/saved/x", json={"query": "", "filters": {}}).status_code == 400
    assert client.delete("/api/saved/Signs").status_code == 200
    assert client.get("/api/saved").json()["saved"] == []
    assert client.delete("/api/saved/Signs").status_code == httpx.codes.NOT_FOUND


def test_bad_saved_searches_are_refused_when_saved_not_when_run(library: Library) -> None:
    """Before, `saved add` took a query over the query limit that then failed on every run, and the
    page's save form answered rating=abc with a 500."""
    from fastapi.testclient import TestClient

    from shashin.web import WebSettings, create_app

    with pytest.raises(UsageError, match="characters long; the limit is 1,000"):
        library.saved.save("Long", "sign " * 300)
    with pytest.raises(UsageError, match="alternatives"):
        library.saved.save("Many", " OR ".join(f"w{n}" for n in range(20)))
    assert library.saved.all() == []
    client = TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1")
    secret = client.get("/api/csrf").json()["csrf"]
    for address, wanted in (
        ("/?q=sign&rating=abc", "rating must be a whole number of stars from 1 to 5, not 'abc'"),
        ("/?q=sign&radius=far&near=Tokyo", "radius must be a positive number of kilometres, not 'far'"),
        ("/?q=sign&radius=nan&near=Tokyo", "radius must be a positive number of kilometres"),
        ("/?q=" + "sign+" * 300, "the limit is 1,000"),
    ):
        response = client.post("/saved", data={"name": "Bad", "address": address, "csrf": secret})
        assert response.status_code == 400 and wanted in html.unescape(response.text), (address, response.status_code)
    put = client.put("/api/saved/Long", json={"query": "sign " * 300}, headers={"X-Shashin-CSRF": secret})
    assert put.status_code == 400
    assert library.saved.all() == []
