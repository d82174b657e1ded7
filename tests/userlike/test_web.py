"""Every web page and API route of `shashin serve` on a library like a user's, through the real app on
127.0.0.1. Before this file, every search on the page answered 500 on the library `make demo`
builds (facets over Flickr keywords); a test below fails when a route is added without a case here."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.userlike.library import UserLibrary
from tests.web.conftest import LiveServer


@pytest.fixture
def client(library_copy: UserLibrary) -> Iterator[httpx.Client]:
    from shashin.web import create_app

    with LiveServer(library_copy.library) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        client.headers["X-Shashin-CSRF"] = client.get("/api/csrf").json()["csrf"]
        client.app = create_app(library_copy.library)  # type: ignore[attr-defined]  # for its route table
        yield client


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 400, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:300]}"
    )
    return response


def _form_secret(client: httpx.Client, page: str) -> str:
    return _ok(client.get(page)).text.split('name="csrf" value="')[1].split('"')[0]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_route_answers_on_a_users_library(client: httpx.Client, library_copy: UserLibrary) -> None:
    visited: set[tuple[str, str]] = set()

    def call(method: str, route: str, url: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        visited.add((method, route))
        return client.request(method, url, **kwargs)

    lightroom, takeout = library_copy.photo_id("lightroom"), library_copy.photo_id("takeout")
    # The search page and the search API, with facets, exclusion, alternatives, filters and sort.
    for query in ("cat -dog", "temple OR castle", "sign", "清水寺", "鹿 -猫"):
        page = _ok(call("GET", "/", "/", params={"q": query}))
        assert "data-facet" in page.text or "0 " in page.text
        api = _ok(call("GET", "/api/search", "/api/search", params={"q": query, "facets": "true"})).json()
        assert "results" in api
    filtered = {"keyword": "Places|Japan", "rating": "4", "sort": "newest", "facets": "true"}
    assert [r["photo_id"] for r in _ok(client.get("/api/search", params={"q": "", **filtered})).json()["results"]] == [
        lightroom
    ]
    _ok(client.get("/", params={"q": "", "near": "Nara", "from": "2019", "keyword": "family trip", "label": ""}))
    _ok(client.get("/", params={"q": "sign", "offset": "24", "ui": "ja"}))
    _ok(call("GET", "/", "/"))  # the home page
    # One photo: its page, its data, its thumbnail, its file, similar photos, faces.
    for role in ("lightroom", "takeout", "raw", "heic", "zero_sidecar", "shared_sidecar"):
        photo_id = library_copy.photo_id(role)
        _ok(call("GET", "/photo/{photo_id}", f"/photo/{photo_id}"))
        data = _ok(call("GET", "/api/photos/{photo_id}", f"/api/photos/{photo_id}")).json()
        assert data["photo_id"] == photo_id
        assert _ok(call("GET", "/api/photos/{photo_id}/thumbnail", f"/api/photos/{photo_id}/thumbnail")).content
        assert _ok(call("GET", "/api/photos/{photo_id}/file", f"/api/photos/{photo_id}/file")).content
        _ok(call("GET", "/api/photos/{photo_id}/similar", f"/api/photos/{photo_id}/similar", params={"limit": 3}))
        _ok(call("GET", "/api/photos/{photo_id}/faces", f"/api/photos/{photo_id}/faces"))
    notes = client.get(f"/api/photos/{library_copy.photo_id('zero_sidecar')}").json()["kept"]["notes"]
    assert any("device" in note for note in notes)
    # Search by photo, on the page and through the API.
    files = {"photo": ("red.png", _png(), "image/png")}
    secret = _form_secret(client, "/")
    _ok(call("POST", "/similar", "/similar", files=files, data={"csrf": secret}))
    _ok(call("POST", "/api/similar", "/api/similar", files=files))
    # A person's words: captions, tags (API and forms).
    _ok(
        call(
            "PUT",
            "/api/photos/{photo_id}/captions/{lang}",
            f"/api/photos/{lightroom}/captions/en",
            json={"text": "Kiyomizu"},
        )
    )
    _ok(
        call(
            "POST",
            "/api/photos/{photo_id}/tags",
            f"/api/photos/{lightroom}/tags",
            json={"action": "add", "words": ["temple"]},
        )
    )
    secret = _form_secret(client, f"/photo/{takeout}")
    _ok(
        call(
            "POST",
            "/photo/{photo_id}/tags",
            f"/photo/{takeout}/tags",
            data={"action": "add", "word": "deer", "csrf": secret},
        )
    )
    _ok(
        call(
            "POST",
            "/photo/{photo_id}/caption",
            f"/photo/{takeout}/caption",
            data={"lang": "ja", "text": "奈良の鹿", "csrf": secret},
        )
    )
    assert client.get("/api/search", params={"q": "", "keyword": "deer"}).json()["results"][0]["photo_id"] == takeout
    # Saved searches: API and the page's form.
    _ok(
        call("PUT", "/api/saved/{name}", "/api/saved/Temples", json={"query": "temple OR 寺", "filters": {"rating": 3}})
    )
    assert _ok(call("GET", "/api/saved", "/api/saved")).json()["saved"]
    results = _ok(call("GET", "/api/saved/{name}/results", "/api/saved/temples/results", params={"facets": "true"}))
    assert lightroom in [r["photo_id"] for r in results.json()["results"]]
    _ok(call("POST", "/saved", "/saved", data={"name": "Nara", "address": "/?q=&near=Nara&rating=", "csrf": secret}))
    bad = client.post("/saved", data={"name": "Bad", "address": "/?q=x&rating=abc", "csrf": secret})
    assert bad.status_code == 400
    _ok(call("DELETE", "/api/saved/{name}", "/api/saved/Nara"))
    # People: the page, the API, crops, naming, moving, merging, forgetting.
    people = _ok(call("GET", "/api/people", "/api/people")).json()["people"]
    _ok(call("GET", "/people", "/people"))
    if library_copy.faces:
        obama = next(p for p in people if p["name"] == "Barack Obama")
        biden = next(p for p in people if p["name"] == "Joe Biden")
        face = obama["sample_face"]
        assert _ok(call("GET", "/api/faces/{face_id}/crop", f"/api/faces/{face}/crop")).content[:2] == b"\xff\xd8"
        _ok(call("PUT", "/api/people/{person_id}/name", f"/api/people/{biden['person_id']}/name", json={"name": "Joe"}))
        secret = _form_secret(client, "/people")
        _ok(
            call(
                "POST",
                "/people/{person_id}/name",
                f"/people/{biden['person_id']}/name",
                data={"name": "Joseph", "csrf": secret},
            )
        )
        obama_photo = library_copy.photo_id("obama")
        _ok(call("POST", "/api/photos/{photo_id}/not/{person}", f"/api/photos/{obama_photo}/not/Barack Obama"))
        _ok(call("PUT", "/api/faces/{face_id}/person", f"/api/faces/{face}/person", json={"name": "Barack Obama"}))
        _ok(
            call(
                "POST",
                "/api/people/{person_id}/merge",
                f"/api/people/{obama['person_id']}/merge",
                json={"others": ["Joseph"]},
            )
        )
        _ok(call("DELETE", "/api/people/{person_id}", f"/api/people/{obama['person_id']}"))
    else:
        visited |= {
            ("GET", "/api/faces/{face_id}/crop"),
            ("PUT", "/api/people/{person_id}/name"),
            ("POST", "/people/{person_id}/name"),
            ("POST", "/api/photos/{photo_id}/not/{person}"),
            ("PUT", "/api/faces/{face_id}/person"),
            ("POST", "/api/people/{person_id}/merge"),
            ("DELETE", "/api/people/{person_id}"),
        }
    # The library and the documentation.
    status = _ok(call("GET", "/api/status", "/api/status")).json()
    assert status["photos"] >= 25 and len(status["errors"]) == 3
    home = _ok(call("GET", "/api/home", "/api/home")).json()
    assert (
        home["photos"] == status["photos"]
        and home["recent"]
        and home["undated"] + sum(m["photos"] for m in home["months"]) + sum(y["photos"] for y in home["years"])
        == status["photos"]
    )
    _ok(call("GET", "/favicon.ico", "/favicon.ico"))
    _ok(call("GET", "/api/csrf", "/api/csrf"))
    _ok(call("GET", "/openapi.json", "/openapi.json"))
    _ok(call("GET", "/docs", "/docs"))

    routes = {
        (method, route.path)
        for route in client.app.routes  # type: ignore[attr-defined]
        for method in getattr(route, "methods", ()) or ()
        if method != "HEAD" and route.path not in ("/docs/oauth2-redirect", "/redoc")
    }
    assert routes - visited == set(), "routes without a case on the user library"


def test_the_search_page_over_many_photos_never_answers_500(client: httpx.Client, library_copy: UserLibrary) -> None:
    """The page always asks for facets: each kind of photo of the library, found by its own words."""
    words = ["NO LITTER", "KIYOMIZU", "NARA PARK", "WELCOME", "PARTY", "TWIN", "出口", "DEEP", "FIFO", "ZERO", "SPARSE"]
    for word in words:
        response = client.get("/", params={"q": word})
        assert response.status_code == 200, (word, response.text[:300])
    names = {Path(r["path"]).name for r in client.get("/api/search", params={"q": "NARA PARK"}).json()["results"]}
    assert "IMG_0001.jpg" in names
