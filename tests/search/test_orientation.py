"""--orientation: the filter added as one declaration plus its channel logic (issue 28's check
that a new filter needs no other edit), over real photos — one of them turned by EXIF."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from shashin.config import load_settings
from shashin.library import Library
from shashin.search.filters import build_filters
from shashin.web import WebSettings, create_app


def _photo(path: Path, size: tuple[int, int], orientation: int | None = None) -> None:
    image = Image.new("RGB", size, (40, 120, 200))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, exif=exif)


def test_orientation_filters_photos_as_they_are_shown(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "wide.jpg", (640, 480))
    _photo(photos / "tall.jpg", (480, 640))
    _photo(photos / "turned.jpg", (640, 480), orientation=6)  # stored wide, shown tall
    _photo(photos / "square.jpg", (500, 505))  # within 2%: square
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([photos])

    def found(*orientations: str) -> set[str]:
        response = library.search("", filters=build_filters(orientations=list(orientations)), limit=10)
        return {Path(result.path).name for result in response.results}

    assert found("portrait") == {"tall.jpg", "turned.jpg"}
    assert found("landscape") == {"wide.jpg"}
    assert found("square", "landscape") == {"square.jpg", "wide.jpg"}
    client = TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1")
    answer = client.get("/api/search", params={"orientation": "square"}).json()
    assert [Path(r["path"]).name for r in answer["results"]] == ["square.jpg"]
    assert "orientation square" in answer["filters"]["described"]
    refused = client.get("/api/search", params={"orientation": "round"})
    assert refused.status_code == 400 and "landscape, portrait or square" in refused.json()["error"]
