"""Searching a library of rendered photos indexed with the real OCR model."""

import pytest

from tests.conftest import TEXT_PHOTOS


def first(indexed, query: str) -> str | None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    results = library.search(query).results
    return results[0].path if results else None


def test_every_photo_was_indexed_without_errors(indexed) -> None:  # type: ignore[no-untyped-def]
    _library, report = indexed
    assert report.new_photos == len(TEXT_PHOTOS)
    assert report.errors == [] and not report.failed
    assert report.channels["ocr"].processed == len(TEXT_PHOTOS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("NO LITTER", "park/no-litter.jpg"),
        ("litter", "park/no-litter.jpg"),
        ("ポイ捨て", "park/no-litter.jpg"),
        ("ｽﾏﾎ", "station/phones.webp"),  # half-width katakana finds スマホ
        ("東京", "station/tokyo.jpg"),  # a part of the compound 東京駅
        ("tokyo station", "station/tokyo.jpg"),
        ("抹茶", "cafe/menu.gif"),  # GIF
        ("pycon", "talks/slide.tiff"),  # TIFF
        ("営業中", "beach/open.heic"),  # HEIC
        ("wet floor", "street/wet-floor.jpg"),  # readable only once EXIF rotation is applied
        ("足元注意", "street/wet-floor.jpg"),
        ("Card", "games/card-game.png"),
        ("Car", "street/car-park.jpg"),
    ],
)
def test_word_in_photo_comes_first(indexed, text_photos, query: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert first(indexed, query) == str(text_photos / expected)


def test_car_never_returns_card(indexed, text_photos) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    paths = [r.path for r in library.search("car").results]
    assert str(text_photos / "games/card-game.png") not in paths


def test_quoted_phrase_must_match_in_order(indexed, text_photos) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    loose = [r.path for r in library.search("no phones").results]
    assert str(text_photos / "park/no-litter.jpg") in loose  # "no" alone matches it
    exact = [r.path for r in library.search('"no phones"').results]
    assert exact == [str(text_photos / "station/phones.webp")]
    assert library.search('"phones no"').results == []


def test_results_explain_themselves(indexed, text_photos) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    [result] = library.search('"wet floor"').results
    assert result.rank == 1 and result.score > 0
    assert result.channels["ocr"].rank == 1
    assert result.channels["file"].rank == 1  # the file is named wet-floor.jpg
    by_field = {h.field: h for h in result.highlights}
    ocr = by_field["text in photo"]
    assert [ocr.text[a:b].upper() for a, b in ocr.spans] == ["WET FLOOR"]
    name = by_field["file name"]
    assert [name.text[a:b] for a, b in name.spans] == ["wet-floor"]


def test_file_channel_finds_folders_and_cameras(indexed, text_photos) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    assert first(indexed, "canon") == str(text_photos / "street/car-park.jpg")
    cafe = library.search("cafe").results
    assert cafe[0].path == str(text_photos / "cafe/menu.gif")
    assert cafe[0].highlights[0].field == "folder"


def test_paging_and_totals(indexed) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    everything = library.search("no").results
    assert len(everything) >= 2
    page = library.search("no", limit=1, offset=1)
    assert [r.path for r in page.results] == [everything[1].path]
    assert page.results[0].rank == 2 and page.total == len(everything)


def test_nothing_to_search_for(indexed) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    assert library.search("の、。").results == []
    assert library.search("xylophone").results == []
