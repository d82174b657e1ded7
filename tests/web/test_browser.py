"""The web interface in a real browser: Debian's Chromium driven by Playwright for Python.

Screenshots are kept under .test-output/screenshots (ignored by git) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shashin import Library
from tests.web.conftest import XSS, LiveServer, photo_id

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / ".test-output" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server: LiveServer) -> Iterator:  # type: ignore[no-untyped-def, type-arg]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    yield page
    context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_open_a_result_and_see_why(page, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.get_by_role("searchbox").fill("car park")
    page.keyboard.press("Enter")  # the keyboard is enough
    page.wait_for_selector("ol.grid li.result")
    status = page.get_by_role("status").inner_text()
    assert status.startswith("1 photos") and "less relevant hidden" in status  # the sign; the weak ones counted
    page.get_by_role("link", name="Show all").click()
    page.wait_for_selector("ol.grid li.result:nth-child(2)")
    assert page.get_by_role("status").inner_text().endswith("photos") and "all=true" in page.url
    first = page.locator("li.result").first
    assert first.locator("img").get_attribute("alt") == "A red car park sign on a city street."
    first.locator("summary").click()
    why = first.locator("details.why")
    assert why.locator("td", has_text="ocr").count() == 1 and "every word" in why.inner_text()
    marks = [m.inner_text() for m in why.locator("mark").all()]
    assert "CAR PARK" in marks or {"CAR", "PARK"} <= set(marks)
    shot(page, "search-car-park")
    first.locator("a.thumb").click()
    page.wait_for_selector("article.photo")
    assert page.locator("h1").inner_text() == "A red car park sign on a city street."
    assert "CAR PARK" in page.locator("pre.ocr").inner_text()
    assert "街の通りにある赤い駐車場の看板。" in page.locator("ul.captions").inner_text()
    assert page.locator("ol.grid.small li").count() >= 1  # similar photos (image vectors)
    shot(page, "photo-car-park")
    assert page.errors == [] and page.dialogs == []


def test_tag_a_photo_on_its_page_then_filter_by_the_tag(page, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.get_by_role("searchbox").fill("car park")
    page.keyboard.press("Enter")
    page.locator("li.result a.thumb").first.click()
    page.wait_for_selector("article.photo")
    page.get_by_label("Add a tag").fill("parking sign")
    page.locator("form.tag-add button").click()
    page.wait_for_selector("ul.tags.own li")
    assert "parking sign" in page.locator("ul.tags.own").inner_text()
    page.locator("ul.tags.own a", has_text="parking sign").click()  # the tag links to a filtered search
    page.wait_for_selector("li.result")
    assert page.locator("li.result").count() == 1 and "keyword=parking" in page.url
    assert page.locator("li.result img").get_attribute("alt") == "A red car park sign on a city street."
    assert page.locator("input[name=keyword]").input_value() == "parking sign"  # the filter panel says so
    page.locator("li.result a.thumb").first.click()
    page.get_by_role("button", name="Remove parking sign").click()  # other tests share this library
    page.wait_for_selector("article.photo")
    assert page.locator("ul.tags.own li").count() == 0
    page.goto(server.url + "/")
    page.locator("details.filters summary").click()
    page.locator("select[name=rating]").select_option("4")
    page.get_by_role("searchbox").fill("car park")
    page.keyboard.press("Enter")  # no photo is rated: an empty page, not an error
    page.wait_for_selector("main")
    assert page.url.count("rating=4") == 1 and "400" not in page.title()
    shot(page, "tagged-photo")
    assert page.errors == [] and page.dialogs == []


def test_japanese_interface_and_query(page, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/?ui=ja")
    page.get_by_role("searchbox").fill("駐車場")
    page.get_by_role("button", name="検索", exact=True).click()
    page.wait_for_selector("li.result")
    assert "枚" in page.get_by_role("status").inner_text()
    assert page.locator("html").get_attribute("lang") == "ja"
    shot(page, "search-japanese")


def test_search_by_uploaded_photo(page, server: LiveServer, text_photos: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.set_input_files("#drop-input", str(text_photos / "street/car-park.jpg"))  # the page submits on choice
    page.wait_for_selector("li.result")
    assert "Similar photos: car-park.jpg" in page.locator("p.understood").inner_text()
    assert page.locator("li.result img").first.get_attribute("alt") == "A red car park sign on a city street."
    shot(page, "search-by-photo")


def test_stored_xss_in_a_caption_never_runs(page, server: LiveServer, web_library: Library) -> None:  # type: ignore[no-untyped-def]
    pid = photo_id(web_library, "games/card-game.png")
    page.goto(f"{server.url}/photo/{pid}")
    page.wait_for_selector("ul.captions")
    assert XSS in page.locator("ul.captions").inner_text()  # shown as text, literally
    assert page.locator("img[src=x]").count() == 0
    page.goto(server.url + "/?q=park+sign")
    page.wait_for_selector("li.result")
    for summary in page.locator("summary").all()[1:]:
        summary.click()
    assert page.locator("script:not([src])").count() == 0
    page.wait_for_timeout(300)
    shot(page, "xss-literal")
    assert page.dialogs == [], page.dialogs


def test_phone_layout(browser, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(server.url + "/?q=sign")
    page.wait_for_selector("li.result")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    shot(page, "phone")
    context.close()


def test_correct_a_caption_in_the_photo_page(page, server: LiveServer, web_library: Library) -> None:  # type: ignore[no-untyped-def]
    pid = photo_id(web_library, "station/tokyo.jpg")
    page.goto(f"{server.url}/photo/{pid}")
    page.locator("details.edit summary").click()
    page.locator("form", has=page.locator("input[name=lang][value=en]")).locator("textarea").fill(
        "Blue board of Tokyo Station"
    )
    page.get_by_role("button", name="Save (en)").click()
    page.wait_for_selector("ul.captions")
    assert "Blue board of Tokyo Station" in page.locator("ul.captions").inner_text()
    assert "source: human" in page.locator("ul.captions").inner_text()
    shot(page, "caption-corrected")


def test_exclude_click_a_facet_and_save_the_search(page, server: LiveServer, web_library: Library) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.get_by_role("searchbox").fill("sign -street")
    page.keyboard.press("Enter")
    page.wait_for_selector("main")
    assert "Not street:" in page.locator("p.excluded").inner_text()
    alts = [img.get_attribute("alt") or "" for img in page.locator("li.result img").all()]
    assert not any("street" in alt.lower() for alt in alts)
    if page.get_by_role("link", name="Show all").count():  # the weak matches too, as a user browsing would
        page.get_by_role("link", name="Show all").click()
        page.wait_for_selector("main")
    facet = page.locator("aside.facets a[data-facet=text]")
    assert facet.count() == 1
    facet.click()  # narrows to photos with text: the filter is added to the address
    page.wait_for_selector("main")
    assert "has_text=true" in page.url and "q=sign+-street" in page.url.replace("%20", "+")
    page.get_by_label("Save this search as").fill("Signs without streets")
    page.locator("form.save button").click()
    page.wait_for_selector("nav.saved a")
    link = page.locator("nav.saved a", has_text="Signs without streets")
    assert link.count() == 1
    link.click()
    page.wait_for_selector("main")
    assert "has_text=true" in page.url
    shot(page, "saved-search")
    assert page.errors == [] and page.dialogs == []
    web_library.saved.remove("Signs without streets")  # other tests share this library
