from datetime import date, datetime

import pytest

from shashin.text.dates import DateError, When, find_dates, normalize, parse_when

TODAY = date(2026, 11, 26)


def d(*parts: int) -> datetime:
    return datetime(*parts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "found", "when"),
    [
        ("beach July 2023", "July 2023", When(d(2023, 7, 1), d(2023, 8, 1))),
        ("Jul. 2023", "Jul. 2023", When(d(2023, 7, 1), d(2023, 8, 1))),
        ("2023-07-14", "2023-07-14", When(d(2023, 7, 14), d(2023, 7, 15))),
        ("July 14, 2023", "July 14, 2023", When(d(2023, 7, 14), d(2023, 7, 15))),
        ("14th July 2023", "14th July 2023", When(d(2023, 7, 14), d(2023, 7, 15))),
        ("2023/07 trip", "2023/07", When(d(2023, 7, 1), d(2023, 8, 1))),
        ("cats 2019", "2019", When(d(2019, 1, 1), d(2020, 1, 1))),
        ("summer 2022", "summer 2022", When(d(2022, 6, 1), d(2022, 9, 1))),
        ("winter of 2022", "winter of 2022", When(d(2022, 12, 1), d(2023, 3, 1))),
        ("from 2019 to 2021", "from 2019 to 2021", When(d(2019, 1, 1), d(2022, 1, 1))),
        ("2019-2021", "2019-2021", When(d(2019, 1, 1), d(2022, 1, 1))),
        ("before 2020", "before 2020", When(end=d(2020, 1, 1))),
        ("after 2020", "after 2020", When(start=d(2021, 1, 1))),
        ("since March 2022", "since March 2022", When(start=d(2022, 3, 1))),
        ("beach in July", "in July", When(months=frozenset({7}))),
        ("last year", "last year", When(d(2025, 1, 1), d(2026, 1, 1))),
        ("yesterday", "yesterday", When(d(2026, 11, 25), d(2026, 11, 26))),
        ("2025年9月 の 京都", "2025年9月", When(d(2025, 9, 1), d(2025, 10, 1))),
        ("2025年9月14日", "2025年9月14日", When(d(2025, 9, 14), d(2025, 9, 15))),
        ("2023年", "2023年", When(d(2023, 1, 1), d(2024, 1, 1))),
        ("2025年の夏", "2025年の夏", When(d(2025, 6, 1), d(2025, 9, 1))),
        ("7月の海", "7月", When(months=frozenset({7}))),
        ("2020年以降", "2020年以降", When(start=d(2020, 1, 1))),
        ("2020年以前", "2020年以前", When(end=d(2020, 1, 1))),
        ("2020年から2022年まで", "2020年から2022年まで", When(d(2020, 1, 1), d(2023, 1, 1))),
        ("去年", "去年", When(d(2025, 1, 1), d(2026, 1, 1))),
        ("先月の写真", "先月", When(d(2026, 10, 1), d(2026, 11, 1))),
    ],
)
def test_dates_are_found_in_both_languages(text: str, found: str, when: When) -> None:
    matches = find_dates(normalize(text), TODAY)
    assert [(m.text, m.when) for m in matches] == [(found, when)]


@pytest.mark.parametrize(
    "text", ["dogs may run", "march of penguins", "iPhone 12", "Mayor of Tokyo", "room 1234", "13月", "gate 2023-13"]
)
def test_words_that_only_look_like_dates_are_left_alone(text: str) -> None:
    assert find_dates(normalize(text), TODAY) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("February 30 2023", "'February 30 2023' is not a date: February 2023 has 28 days"),
        ("beach 2023-02-30", "February 2023 has 28 days"),
        ("2024年2月30日の海", "February 2024 has 29 days"),
        ("31 April 2022", "April 2022 has 30 days"),
        ("photos 2024 to 2020", "'2024 to 2020' ends before it starts"),
    ],
)
def test_dates_that_do_not_exist_are_said_not_widened(text: str, message: str) -> None:
    with pytest.raises(DateError, match=message):
        find_dates(normalize(text), TODAY)


def test_full_width_digits_read_as_dates() -> None:
    assert parse_when(normalize("２０２５年９月"), TODAY) == When(d(2025, 9, 1), d(2025, 10, 1))


def test_parse_when_needs_the_whole_text_to_be_a_date() -> None:
    assert parse_when("2023-07", TODAY) == When(d(2023, 7, 1), d(2023, 8, 1))
    assert parse_when("beach 2023", TODAY) is None
    assert parse_when("soon", TODAY) is None
