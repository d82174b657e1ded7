"""The REST API against the real app serving a real library."""

from __future__ import annotations

import http.client
import io

import httpx
import pytest
from PIL import Image

from shashin import Library
from shashin.web import WebSettings
from tests.web.conftest import XSS, LiveServer, photo_id


@pytest.fixture
def client(server: LiveServer) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_search_with_explanations_filters_and_paging(client: httpx.Client) -> None:
    document = client.get("/api/search", params={"q": "car park"}).json()
    top = document["results"][0]
    assert top["path"].endswith("street/car-park.jpg") and top["exact"] is True
    assert top["channels"]["ocr"]["rank"] == 1 and top["thumbnail"] == f"/api/photos/{top['photo_id']}/thumbnail"
    assert (
        any(h["channel"] == "caption" for h in top["highlights"])
        and top["alt_text"] == "A red car park sign on a city street."
    )
    assert top["place"] and "Kyoto" in top["place"]
    parsed = client.get("/api/search", params={"q": "car 2023年7月"}).json()
    assert parsed["searched"] == "car" and parsed["filters"]["taken_from"] == "2023-07-01T00:00:00"
    near = client.get("/api/search", params={"q": "sign", "near": "Tokyo"}).json()
    assert all("car-park" not in r["path"] for r in near["results"])  # the car park is in Kyoto
    first = client.get("/api/search", params={"q": "sign", "limit": 1}).json()
    second = client.get("/api/search", params={"q": "sign", "limit": 1, "offset": 1}).json()
    assert (
        first["total"] == second["total"] >= 2 and first["results"][0]["photo_id"] != second["results"][0]["photo_id"]
    )
    assert second["results"][0]["rank"] == 2


def test_errors_are_json_with_a_message(client: httpx.Client) -> None:
    for params, status, words in [
        ({"q": "x", "from": "someday"}, 400, "not a date"),
        ({"q": "x", "near": "Qqqzzx"}, 400, "unknown place"),
        ({"q": "x", "limit": 0}, 400, "limit"),
        ({"q": "x", "sort": "random"}, 400, "sort"),
    ]:
        response = client.get("/api/search", params=params)
        assert response.status_code == status and words in response.json()["error"], params
    assert client.get("/api/photos/" + "0" * 32).json() == {
        "error": f"no photo {'0' * 32} in this library",
        "status": 404,
    }


def test_photo_detail_with_caption_provenance(client: httpx.Client, web_library: Library) -> None:
    pid = photo_id(web_library, "street/car-park.jpg")
    detail = client.get(f"/api/photos/{pid}").json()
    assert detail["paths"][0].endswith("street/car-park.jpg") and detail["ocr_text"] == "CAR PARK"
    langs = {c["lang"]: c for c in detail["captions"]}
    assert set(langs) == {"en", "ja"} and langs["ja"]["source"] == "imported" and langs["ja"]["backend"] == "import"
    assert detail["alt_text"] == {
        "en": "A red car park sign on a city street.",
        "ja": "街の通りにある赤い駐車場の看板。",
    }
    assert (
        detail["metadata"]["camera_model"] == "Canon EOS R6" and detail["metadata"]["taken_at"] == "2023-07-15T10:20:30"
    )
    assert isinstance(detail["tags"], list)
    status = client.get("/api/status").json()
    assert status["photos"] == 4 and status["channels"]["image"]["done"] == 4


def test_thumbnails_and_originals_by_id(client: httpx.Client, web_library: Library) -> None:
    pid = photo_id(web_library, "street/car-park.jpg")
    thumbnail = client.get(f"/api/photos/{pid}/thumbnail")
    assert (
        thumbnail.status_code == 200
        and thumbnail.headers["content-type"] == "image/webp"
        and thumbnail.content[8:12] == b"WEBP"
    )
    original = client.get(f"/api/photos/{pid}/file")
    assert (
        original.status_code == 200
        and original.headers["content-type"] == "image/jpeg"
        and original.content[:2] == b"\xff\xd8"
    )


@pytest.mark.parametrize("route", ["", "/thumbnail", "/file", "/similar"])
@pytest.mark.parametrize(
    "attempt",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "....%2F%2F....%2F%2Fetc%2Fpasswd",
        "..",
        "%2e%2e",
        "0" * 31 + "%00",
        "..%5C..%5Cwindows",
        "ZZ" * 16,
        "../../../../etc/passwd",
        "..%252F..%252Fetc%252Fpasswd",
    ],
)
def test_no_route_serves_a_path_from_the_request(server: LiveServer, route: str, attempt: str) -> None:
    """Files are found by photo id only: every traversal attempt is a 404 JSON error, never a file.
    (http.client sends the path exactly as written: no client-side clean-up of "..".)"""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", f"/api/photos/{attempt}{route}")
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    assert response.status == 404, (attempt, route, body[:100])
    assert "root:" not in body and response.getheader("content-type", "").startswith("application/json")


def test_search_by_uploaded_photo(client: httpx.Client, text_photos) -> None:  # type: ignore[no-untyped-def]
    data = (text_photos / "street/car-park.jpg").read_bytes()
    csrf = client.get("/api/csrf").json()["csrf"]
    response = client.post(
        "/api/similar", files={"photo": ("mine.jpg", data, "image/jpeg")}, data={"limit": "3", "csrf": csrf}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["path"].endswith("street/car-park.jpg") and results[0]["channels"]["image"]["score"] > 0.99
    pid = results[0]["photo_id"]
    by_id = client.get(f"/api/photos/{pid}/similar", params={"limit": 2}).json()
    assert pid not in [r["photo_id"] for r in by_id["results"]] and len(by_id["results"]) == 2


def test_uploads_are_bounded(server: LiveServer, web_library: Library) -> None:
    secret = {"X-Shashin-CSRF": httpx.get(f"{server.url}/api/csrf").json()["csrf"]}
    not_image = httpx.post(
        f"{server.url}/api/similar", files={"photo": ("x.jpg", b"<html>", "image/jpeg")}, headers=secret
    )
    assert not_image.status_code == 400 and "not an image" in not_image.json()["error"]
    empty = httpx.post(f"{server.url}/api/similar", files={"photo": ("x.jpg", b"", "image/jpeg")}, headers=secret)
    assert empty.status_code == 400
    with LiveServer(web_library, WebSettings(max_upload_bytes=10_000, max_upload_pixels=1_000_000)) as small:
        secret = {"X-Shashin-CSRF": httpx.get(f"{small.url}/api/csrf").json()["csrf"]}
        too_large = httpx.post(
            f"{small.url}/api/similar", files={"photo": ("x.png", b"\0" * 20_000, "image/png")}, headers=secret
        )
        assert too_large.status_code == 413 and "larger than" in too_large.json()["error"]
        huge = io.BytesIO()
        Image.new("1", (2000, 2000)).save(huge, "PNG")  # 4 MP, a few KB compressed
        many_pixels = httpx.post(
            f"{small.url}/api/similar", files={"photo": ("x.png", huge.getvalue(), "image/png")}, headers=secret
        )
        assert many_pixels.status_code == 413 and "megapixels" in many_pixels.json()["error"]


def test_hostile_captions_are_escaped_and_policy_forbids_scripts(client: httpx.Client, web_library: Library) -> None:
    pid = photo_id(web_library, "games/card-game.png")
    page = client.get(f"/photo/{pid}")
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<script>alert" not in client.get("/", params={"q": "park sign"}).text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "object-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"


def test_openapi_and_docs(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/photos/{photo_id}", "/api/similar", "/api/status"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


def test_token_guards_every_route(web_library: Library) -> None:
    with LiveServer(web_library, WebSettings(token="s3cret-token")) as guarded:
        assert httpx.get(f"{guarded.url}/api/status").status_code == 401
        assert httpx.get(f"{guarded.url}/").status_code == 401
        assert httpx.get(f"{guarded.url}/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert (
            httpx.get(f"{guarded.url}/api/status", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        )
        with httpx.Client(base_url=guarded.url) as browser:
            assert browser.get("/", params={"token": "s3cret-token"}).status_code == 200
            assert browser.get("/api/status").status_code == 200  # the cookie set by the first visit


def test_serve_refuses_other_hosts_without_a_token(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--host", "0.0.0.0", "--db", "/nonexistent")
    assert result.returncode == 2 and "--token" in result.stderr and "--insecure-no-token" in result.stderr


def test_a_person_corrects_a_caption(client: httpx.Client, web_library: Library) -> None:
    pid = photo_id(web_library, "station/tokyo.jpg")
    detail = client.put(f"/api/photos/{pid}/captions/ja", json={"text": "東京駅の駅名標"}).json()
    mine = next(c for c in detail["captions"] if c["lang"] == "ja")
    assert (
        mine["source"] == "human" and mine["text"] == "東京駅の駅名標" and detail["alt_text"]["ja"] == "東京駅の駅名標"
    )
    assert client.put(f"/api/photos/{pid}/captions/ja", json={"text": ""}).status_code == 400
    page = client.get(f"/photo/{pid}").text
    secret = page.split('name="csrf" value="')[1].split('"')[0]
    forged = client.post(f"/photo/{pid}/caption", data={"lang": "en", "text": "forged", "csrf": "guess"})
    assert forged.status_code == 403
    cross = client.post(
        f"/photo/{pid}/caption",
        data={"lang": "en", "text": "x", "csrf": secret},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    saved = client.post(f"/photo/{pid}/caption", data={"lang": "en", "text": "Tokyo Station sign", "csrf": secret})
    assert saved.status_code == 303
    assert client.get("/api/search", params={"q": "Tokyo Station sign"}).json()["results"][0]["photo_id"] == pid


def test_a_person_tags_a_photo_on_its_page_and_through_the_api(client: httpx.Client, web_library: Library) -> None:
    pid = photo_id(web_library, "park/no-litter.jpg")
    detail = client.post(f"/api/photos/{pid}/tags", json={"action": "add", "words": ["clean park", "<b>x</b>"]}).json()
    assert sorted(detail["kept"]["tags_added"]) == ["<b>x</b>", "clean park"]
    assert client.post(f"/api/photos/{pid}/tags", json={"action": "rename", "words": ["a"]}).status_code == 400
    found = client.get("/api/search", params={"q": "", "keyword": "clean park"}).json()
    assert [r["photo_id"] for r in found["results"]] == [pid]
    page = client.get(f"/photo/{pid}").text
    assert "clean park" in page and "<b>x</b>" not in page  # escaped
    secret = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post(f"/photo/{pid}/tags", data={"action": "add", "word": "x", "csrf": "guess"}).status_code == 403
    removed = client.post(f"/photo/{pid}/tags", data={"action": "remove", "word": "clean park", "csrf": secret})
    assert removed.status_code == 303
    assert client.get("/api/search", params={"q": "", "keyword": "clean park"}).json()["results"] == []
    assert client.get("/", params={"keyword": "<b>x</b>"}).status_code == 200
    client.post(f"/api/photos/{pid}/tags", json={"action": "remove", "words": ["<b>x</b>"]})  # the library is shared
