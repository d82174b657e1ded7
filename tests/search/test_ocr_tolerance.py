"""Words OCR misreads, splits or joins are still found, always after exact matches, and the
explanation says which rule matched (real OCR on rendered signs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tools.render import Sign, save

from shashin import Library
from shashin.config import load_settings


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    folder = tmp_path_factory.mktemp("tolerant") / "photos"
    signs = {
        "misread.jpg": ["FURIONOPOLIS"],
        "split.jpg": ["AD+HD CLINIC"],
        "route.jpg": ["RE16 TGK"],
        "exact.jpg": ["FUSIONOPOLIS"],
        "card.jpg": ["CARD GAME"],
        "bakery.jpg": ["B4KERY"],
    }
    for number, (name, lines) in enumerate(signs.items()):
        save(Sign(lines, seed=40 + number), folder / name)
    library = Library(settings=load_settings({"db": str(folder.parent / "db"), "channels": "ocr"}))
    library.index([folder])
    return library


def names(library: Library, query: str) -> list[str]:
    return [Path(r.path).name for r in library.search(query, parse=False).results]


def test_misread_split_and_partial_words_are_found(library: Library) -> None:
    assert names(library, "bakery")[0] == "bakery.jpg"
    assert names(library, "ADHD")[0] == "split.jpg"
    assert names(library, "RE1")[0] == "route.jpg"


def test_an_exact_match_ranks_above_a_tolerant_one_and_explains_itself(library: Library) -> None:
    response = library.search("Fusionopolis", parse=False)
    assert [Path(r.path).name for r in response.results][:2] == ["exact.jpg", "misread.jpg"]
    exact, tolerant = response.results[:2]
    assert exact.exact and not tolerant.exact and tolerant.relevance < exact.relevance
    assert tolerant.highlights[0].field == "text in photo, one edit: FURIONOPOLIS"
    assert (
        library.search("B4KERY", parse=False).results[0].highlights[0].field == "text in photo"
    )  # its own word: exact


def test_short_words_are_not_found_inside_longer_ones(library: Library) -> None:
    assert "card.jpg" not in names(library, "Car")
    off = Library(settings=load_settings({"db": str(library.path), "channels": "ocr", "ocr.tolerant": "false"}))
    assert "misread.jpg" not in names(off, "fusionopolis")  # the setting turns it off


def test_an_exclusion_removes_the_word_as_read_not_as_misread(library: Library) -> None:
    """ "Fusionopolis -Furionopolis": the sign that reads FURIONOPOLIS goes; the one that reads
    FUSIONOPOLIS stays, though a misread of it would be one edit from the excluded word."""
    response = library.search("Fusionopolis -Furionopolis")
    assert [Path(r.path).name for r in response.results] == ["exact.jpg"]
    [removal] = response.removed
    assert removal.counts() == {"ocr": 1}
