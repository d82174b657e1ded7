"""A date or place read out of a query narrows a search but never empties one the words would fill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tools.render import Sign, save

from shashin import Library
from shashin.config import load_settings


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("parsed")
    folder = root / "photos"
    save(Sign(["SALE", "50% OFF"], seed=31), folder / "shop.jpg")
    save(Sign(["★"], seed=32), folder / "square.jpg")
    save(Sign(["●"], seed=33), folder / "flag.jpg")
    save(Sign(["◆"], seed=34), folder / "cat.jpg")
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "ocr"}))
    library.index([folder])
    captions = root / "captions.jsonl"
    rows = [
        ("square.jpg", "Times Square in New York ."),
        ("flag.jpg", "An American flag waving on a pole."),
        ("cat.jpg", "A cat sleeping on a sofa."),
    ]
    captions.write_text(
        "".join(json.dumps({"path": str(folder / name), "text": text, "lang": "en"}) + "\n" for name, text in rows)
    )
    library.import_captions(captions)
    return library


def top(library: Library, query: str) -> tuple[str, tuple[str, ...]]:
    response = library.search(query, everything=True)  # how the query is read, weak matches included
    assert response.results, f"{query!r} found nothing ({response.understood})"
    return Path(response.results[0].path).name, response.understood


def test_a_place_named_as_the_user_writes_it(library: Library) -> None:
    """New York is New York City in the gazetteer; a caption saying "New York" still counts."""
    name, understood = top(library, "New York")
    assert name == "square.jpg" and understood == ("place: New York City (ニューヨーク), US",)


@pytest.mark.parametrize(("query", "expected"), [("Sale", "shop.jpg"), ("cat July 2023", "cat.jpg")])
def test_a_filter_that_would_empty_the_search_ranks_instead_and_says_so(
    library: Library, query: str, expected: str
) -> None:
    name, understood = top(library, query)
    assert name == expected
    assert (
        len(understood) == 1
        and "no photo was taken then or there, so the words are searched as written" in understood[0]
    )


def test_explicit_filters_still_filter(library: Library) -> None:
    from shashin.search.filters import build_filters

    assert library.search("cat", filters=build_filters(near="Salé")).results == []


def test_search_says_which_channel_was_not_indexed(tmp_path: Path, text_photos: Path) -> None:
    settings = load_settings(
        {"db": str(tmp_path / "db"), "channels": "ocr,image", "image.model": str(tmp_path / "no-model")}
    )
    library = Library(settings=settings)
    library.index([text_photos / "park"])
    response = library.search("litter")
    assert (
        response.results
        and "not indexed" in response.unavailable["image"]
        and "no-model" in response.unavailable["image"]
    )
    from shashin.evaluation.queries import EvalQuery

    photo = response.results[0].photo_id
    run = library.evaluation.run([EvalQuery("q1", "litter", "en", frozenset({photo}), "queries")])
    assert any("image" in note and "not indexed" in note for note in run.notes)


@pytest.mark.parametrize("query", ["アメリカの国旗", "アメリカ国旗", "an American flag"])
def test_a_place_that_names_something_else_is_no_place(library: Library, query: str) -> None:
    """The flag of America is not a photo taken in America: nothing is read as a place."""
    name, understood = top(library, query)
    assert name == "flag.jpg" and understood == ()


def test_keywords_meet_across_word_forms_and_languages(library: Library) -> None:
    """ "cats sleeping" finds "A cat sleeping" by keyword (stems: every word, but by stem, so not
    exact), and 「国旗」 the English caption "An American flag" by keyword too (JMdict), with the
    caption highlighted."""
    stems = library.search("cats sleeping", parse=False)
    caption = stems.results[0].channels["caption"]
    assert Path(stems.results[0].path).name == "cat.jpg" and not caption.exact and caption.quality == 0.9
    assert stems.to_dict()["results"][0]["channels"]["caption"]["matched"] == "every word, by stem"
    flag = library.search("旗", parse=False)
    top = flag.results[0]
    assert Path(top.path).name == "flag.jpg" and "caption" in top.channels
    assert any(
        "by its English words" in h.field and h.text[slice(*h.spans[0])].lower() == "flag" for h in top.highlights
    )
    assert (
        library.search("Cards", parse=False).rankings["caption"] == []
    )  # no caption says card: stems keep car and card apart


def test_a_channel_that_fails_costs_its_own_answer_not_the_search(library: Library) -> None:
    from shashin.channels import search_channels
    from shashin.channels.base import Channel
    from shashin.search.engine import search_photos
    from shashin.store import Store

    class Broken(Channel):
        name = "broken"
        description = "a channel with a bug"

        def search(self, query, store, limit):  # type: ignore[no-untyped-def]
            raise RuntimeError("database is locked")

    store = Store(library.path, create=False)
    channels = [*search_channels(library._channels(store)[1]), Broken()]
    response = search_photos(store, channels, "cat sleeping", library.settings.search)
    assert Path(response.results[0].path).name == "cat.jpg"
    assert response.unavailable["broken"] == "failed: RuntimeError: database is locked"
