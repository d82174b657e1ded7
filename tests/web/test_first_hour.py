"""The first hour of a fresh install, in a real browser: no image model anywhere (the hub is
unreachable), yet the home page shows the library, descriptions find photos by what they show
("dog", 「犬」, "pizza") and a dropped photo finds the ones that look like it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from shashin import Library
from shashin.config import load_settings
from tests.conftest import COCO
from tests.web.conftest import LiveServer
from tests.web.test_browser import ARGS, CHROMIUM, shot

DOG, PIZZA = "000000442450.jpg", "000000160012.jpg"
OTHERS = ["000000000790.jpg", "000000012280.jpg", "000000020247.jpg", "000000030213.jpg"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt install chromium)"),
    pytest.mark.skipif(not (COCO / "images").is_dir(), reason=f"development photos not found at {COCO}"),
]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Library, Path]]:
    root = tmp_path_factory.mktemp("first-hour")
    photos = root / "photos"
    photos.mkdir()
    for name in [DOG, PIZZA, *OTHERS]:
        if (COCO / "images" / name).exists():
            shutil.copy2(COCO / "images" / name, photos / name)
    shutil.copytree(Path(__file__).resolve().parents[2] / "samples" / "tokyo", photos / "tokyo")  # dated signs
    settings = load_settings(
        {"db": str(root / "db"), "channels": "ocr,image,labels"}
    )  # the default image model: not here
    library = Library(settings=settings)
    library.index([photos])
    with LiveServer(library) as live:
        yield live, library, root


@pytest.fixture
def page(fresh) -> Iterator:  # type: ignore[no-untyped-def, type-arg]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        yield page
        browser.close()


def test_the_home_page_shows_the_library_and_says_once_what_is_missing(page, fresh) -> None:  # type: ignore[no-untyped-def]
    server, library, _ = fresh
    page.goto(server.url + "/")
    home = page.locator("section.home")
    photos = library.status().photos
    assert f"{photos} photos" in home.get_by_role("status").inner_text()
    assert "image" not in home.get_by_role("status").inner_text()  # a channel without its model is not "still to index"
    notes = home.locator("p.note")
    assert notes.count() == 1 and "image" in notes.first.inner_text()
    assert home.locator("ol.recent img").count() == min(photos, 12)
    assert page.locator("p.note").count() == 1  # said once, here
    month = home.locator("nav.timeline a[data-month='2024-04']")
    assert month.count() == 1
    shot(page, "first-hour-home")
    month.click()
    page.wait_for_selector("li.result")
    assert page.locator("li.result").count() == 2 and page.locator("p.note").count() == 0


@pytest.mark.parametrize(("query", "photo"), [("dog", DOG), ("犬", DOG), ("pizza", PIZZA)])
def test_a_description_finds_photos_with_nothing_downloaded(page, fresh, query: str, photo: str) -> None:  # type: ignore[no-untyped-def]
    server, library, _ = fresh
    page.goto(server.url + "/")
    page.get_by_role("searchbox").fill(query)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("li.result")
    assert _is(library, page.locator("li.result a.thumb").first.get_attribute("href"), photo)
    assert page.locator("p.note").count() == 0  # found something: no note about the missing model
    if query == "dog":  # no caption, no text: the alt text says what the labels model is sure of
        assert page.locator("li.result img").first.get_attribute("alt") == "Possibly a Leonberger (dog)"
    shot(page, f"first-hour-{'dog' if query in ('dog', '犬') else query}")


def test_a_dropped_photo_finds_the_ones_that_look_like_it(page, fresh, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, library, _ = fresh
    copy = tmp_path / "my-pizza.jpg"  # a smaller copy the library never saw
    with Image.open(COCO / "images" / PIZZA) as photo:
        photo.resize((photo.width // 2, photo.height // 2)).save(copy, quality=70)
    page.goto(server.url + "/")
    page.set_input_files("#drop-input", str(copy))
    page.wait_for_selector("li.result")
    assert "my-pizza.jpg" in page.locator("p.understood").inner_text()
    assert _is(library, page.locator("li.result a.thumb").first.get_attribute("href"), PIZZA)
    shot(page, "first-hour-similar")


def _is(library: Library, href: str | None, name: str) -> bool:
    """Whether a result's link (/photo/ID?…) is the photo with this file name."""
    photo_id = (href or "").split("/photo/")[-1].split("?")[0]
    files = library.open_store().file_rows_for([photo_id]).get(photo_id, [])
    return any(Path(f.path).name == name for f in files)
