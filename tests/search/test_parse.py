from datetime import date, datetime

import pytest

from shashin.search.parse import parse_query

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("query", "text", "start", "end", "place"),
    [
        ("beach July 2023", "beach", datetime(2023, 7, 1), datetime(2023, 8, 1), None),
        ("2025年9月 の 京都", "", datetime(2025, 9, 1), datetime(2025, 10, 1), "Kyoto"),
        ("2025年9月の京都", "", datetime(2025, 9, 1), datetime(2025, 10, 1), "Kyoto"),
        ("in Tokyo", "", None, None, "Tokyo"),
        ("cats in tokyo", "cats", None, None, "Tokyo"),
        ("temple in Kyoto 2019", "temple", datetime(2019, 1, 1), datetime(2020, 1, 1), "Kyoto"),
        ("京都の寺", "寺", None, None, "Kyoto"),
        ("渋谷で撮った犬", "撮った犬", None, None, "Shibuya"),
        ("箱根の温泉", "温泉", None, None, "Hakone"),
        ("日本の桜", "桜", None, None, "Japan"),
        ("photos from Japan", "photos", None, None, "Japan"),
        ("beach in Nice", "beach", None, None, "Nice"),
        ("Tokyo", "", None, None, "Tokyo"),
        ("京都", "", None, None, "Kyoto"),
        ("in New York in July", "", None, None, "New York City"),
    ],
)
def test_dates_and_introduced_places_become_filters(query: str, text: str, start, end, place) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_query(query, today=TODAY)
    assert parsed.text == text
    when = parsed.filters.when
    assert (when.start if when else None, when.end if when else None) == (start, end)
    assert [near.place.name for near in parsed.filters.near] == ([place] if place else [])
    assert parsed.understood  # says what it took out


@pytest.mark.parametrize(
    ("query", "mentioned"),
    [
        ("Tokyo tower", ["Tokyo"]),
        ("Tokyo Station", ["Tokyo"]),
        ("New York skyline", ["New York City"]),
        ("東京タワー", ["Tokyo"]),
        ("東京 ラーメン", ["Tokyo"]),
        ("a man riding a horse", []),
        ("dog in the rain", []),  # a village called Rain is not meant
        ("man", []),  # nor Manchester, whose alternate names include "Man"
        ("nice weather", []),
        ("fireworks", []),  # GeoNames lists it as another name of a village
        ("The kitchen features an old fashioned center island.", []),  # "The" is an alias of Teresina
        ("Cat staring at laptop screen as owner is online.", []),  # Çat, Turkey
        ("Man in apron standing on front of oven with pans", []),  # a sentence's first word
        ("A CONTEMPORARY BATHROOM THAT HAS A VERY LARGE MIRROR", []),  # capitals say nothing
        ("sign", []),
        ('"NO LITTER" 2023', []),
        # a place's name inside a name for something else is no place at all
        ("Boston terrier", []),
        ("New York strip", []),
        ("アメリカの国旗", []),
        ("フランス料理", []),
        ("a Boston terrier puppy", []),
    ],
)
def test_places_merely_named_stay_in_the_text(query: str, mentioned: list[str]) -> None:
    parsed = parse_query(query, today=TODAY)
    assert parsed.filters.near == ()
    assert [place.name for place in parsed.mentioned] == mentioned
    if not query.startswith('"'):
        assert parsed.text == query


@pytest.mark.parametrize(
    ("query", "read", "text"),
    [
        ("a Boston terrier in Boston", "place: Boston", "a Boston terrier"),
        ("京都の人気スポット", "place: Kyoto", "人気スポット"),  # 人気 is not 人 (a person of)
        ("Tokyo tower", "place named, ranks only: Tokyo", "Tokyo tower"),
    ],
)
def test_understood_says_what_was_read_as_a_place(query: str, read: str, text: str) -> None:
    parsed = parse_query(query, today=TODAY)
    assert any(line.startswith(read) for line in parsed.understood) and parsed.text == text


def test_quoted_words_are_never_parsed() -> None:
    parsed = parse_query('"July 2023" poster', today=TODAY)
    assert parsed.text == '"July 2023" poster' and parsed.filters.when is None


def test_a_month_without_a_year_means_that_month_every_year() -> None:
    parsed = parse_query("beach in July", today=TODAY)
    assert parsed.text == "beach" and parsed.filters.when is not None and parsed.filters.when.months == {7}


def test_all_caps_and_the_do_not_make_a_place_filter() -> None:
    parsed = parse_query("THERE IS A MAN WALKING IN THE AIRPORT", today=TODAY)
    assert parsed.filters.near == () and parsed.text == "THERE IS A MAN WALKING IN THE AIRPORT"


def test_coco_captions_are_descriptions_not_places(coco) -> None:  # type: ignore[no-untyped-def]
    """Over the 380 real captions of the development set, only the one naming Bangkok filters."""
    import json

    rows = [json.loads(line) for line in (coco / "captions.jsonl").read_text(encoding="utf-8").splitlines()]
    parsed = [(caption, parse_query(caption, today=TODAY)) for row in rows for caption in row["captions_en"]]
    places = {caption: [n.place.name for n in p.filters.near] + [m.name for m in p.mentioned] for caption, p in parsed}
    assert {caption: names for caption, names in places.items() if names} == {
        "A Thai airways airplane at the Bangkok Airport terminal": ["Bangkok"]
    }
