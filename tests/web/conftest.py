"""A real library (OCR + tiny SigLIP2 image vectors + imported captions, some of them hostile)
served by the real app on 127.0.0.1 in a background thread."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from shashin import Library
from shashin.config import load_settings
from shashin.web import WebSettings, create_app

XSS = "<img src=x onerror=alert(1)>"
PHOTOS = ["park/no-litter.jpg", "station/tokyo.jpg", "games/card-game.png", "street/car-park.jpg"]


@pytest.fixture(scope="session")
def web_library(tmp_path_factory: pytest.TempPathFactory, text_photos: Path, tiny_models: dict[str, Path]) -> Library:
    root = tmp_path_factory.mktemp("web")
    folder = root / "photos"
    for name in PHOTOS:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(text_photos / name, folder / name)
    settings = load_settings(
        {"db": str(root / "db"), "channels": "ocr,image", "image.model": str(tiny_models["siglip2-fixres"])}
    )
    library = Library(settings=settings)
    library.index([folder])
    captions = root / "captions.jsonl"
    rows = [
        {"path": str(folder / "street/car-park.jpg"), "text": "A red car park sign on a city street.", "lang": "en"},
        {"path": str(folder / "street/car-park.jpg"), "text": "街の通りにある赤い駐車場の看板。", "lang": "ja"},
        {"path": str(folder / "games/card-game.png"), "text": XSS, "lang": "en"},
        {
            "path": str(folder / "park/no-litter.jpg"),
            "text": "<script>alert('x')</script> A park sign about litter.",
            "lang": "en",
        },
    ]
    captions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    library.import_captions(captions)
    return library


class LiveServer:
    """The app on 127.0.0.1 and a free port, in a thread; `url` is where it listens."""

    def __init__(self, library: Library, settings: WebSettings | None = None) -> None:
        config = uvicorn.Config(create_app(library, settings), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(web_library: Library) -> Iterator[LiveServer]:
    with LiveServer(web_library) as live:
        yield live


def photo_id(library: Library, name: str) -> str:
    from shashin.store import Store

    store = Store(library.path, create=False)
    return next(row.photo_id for path, row in store.files().items() if path.endswith(name))
