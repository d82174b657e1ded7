"""Dates people type, in English and Japanese, as time ranges: "July 2023", 「2025年9月」, "summer 2022",
"2019 to 2021", 「2020年以降」, "last year", 「去年」; a month without a year ("in July", 「7月」) means
that month in any year.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shashin.errors import UsageError

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_SEASONS = {
    "spring": (3, 3),
    "summer": (6, 3),
    "autumn": (9, 3),
    "fall": (9, 3),
    "winter": (12, 3),
    "春": (3, 3),
    "夏": (6, 3),
    "秋": (9, 3),
    "冬": (12, 3),
}  # (first month, months), northern hemisphere
_MONTH = "(?P<month_name>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"


class DateError(UsageError, ValueError):
    """A date the user wrote that does not exist ("February 30 2023") or a range that ends before it
    starts ("2024 to 2020"): said, rather than silently searched as something else."""


@dataclass(frozen=True)
class When:
    """A time range [start, end) in the photos' local time, or a set of months of any year."""

    start: datetime | None = None
    end: datetime | None = None
    months: frozenset[int] = field(default_factory=frozenset)

    def intersect(self, other: When) -> When:
        starts = [d for d in (self.start, other.start) if d]
        ends = [d for d in (self.end, other.end) if d]
        months = self.months & other.months if self.months and other.months else self.months | other.months
        return When(max(starts) if starts else None, min(ends) if ends else None, months)

    @property
    def empty(self) -> bool:
        """True when no moment is in the range (it ends before it starts)."""
        return self.start is not None and self.end is not None and self.start >= self.end

    def describe(self) -> str:
        parts = []
        if self.start:
            parts.append(f"from {self.start:%Y-%m-%d}")
        if self.end:
            parts.append(f"before {self.end:%Y-%m-%d}")
        if self.months:
            parts.append("in " + ", ".join(calendar.month_name[m] for m in sorted(self.months)))
        return " ".join(parts)


# One date expression: each pattern's named groups say what it holds. Longest forms first.
_SINGLE = [
    rf"{_YEAR}[-/.](?P<month>\d{{1,2}})[-/.](?P<day>\d{{1,2}})",
    rf"{_YEAR}年\s*(?P<month>\d{{1,2}})月\s*(?P<day>\d{{1,2}})日",
    rf"{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}",
    rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s+{_YEAR}",
    rf"{_YEAR}年\s*(?P<month>\d{{1,2}})月",
    rf"{_YEAR}[-/](?P<month>\d{{1,2}})(?![\d/.-])",
    rf"{_MONTH},?\s+{_YEAR}",
    rf"(?P<season>spring|summer|autumn|fall|winter)\s+(?:of\s+)?{_YEAR}",
    rf"{_YEAR}年\s*の?\s*(?P<season>[春夏秋冬])",
    rf"{_YEAR}年",
    rf"(?<![\d.,:/]){_YEAR}(?![\d.,:/]|-\d{{1,2}}(?!\d))",
    r"(?P<relative>today|yesterday|this year|last year|this month|last month|今日|昨日|今年|去年|昨年|一昨年|今月|先月)",
    r"(?P<month_only>\d{1,2})月(?!\s*\d{1,2}日)",
    rf"\b(?:in|during)\s+{_MONTH}(?![\w])",  # a bare month name only after "in": "may" is also a verb
]
_PATTERNS = [re.compile(p, re.I) for p in _SINGLE]


@dataclass(frozen=True)
class DateMatch:
    """A date expression found in a query: where it is and what it means."""

    start: int
    end: int
    text: str
    when: When


def parse_when(text: str, today: date | None = None) -> When | None:
    """`text` as a whole read as a date expression ("2023", "July 2023", 「2025年9月」), or None."""
    found = find_dates(text, today)
    if len(found) == 1 and not _leftover(text, found):
        return found[0].when
    return None


def find_dates(text: str, today: date | None = None) -> list[DateMatch]:
    """Every date expression in `text`, with ranges ("2019 to 2021", 「2020年から2022年まで」,
    「2020年以降」, "before 2020") folded into one. `text` should be NFKC-normalized."""
    today = today or date.today()
    singles: list[DateMatch] = []
    taken = [False] * len(text)
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(taken[match.start() : match.end()]) or not _word_bounded(text, match):
                continue
            try:
                when = _meaning(match.groupdict(), today)
            except _NoSuchDay as exc:
                raise DateError(f"{match.group(0)!r} is not a date: {exc}") from None
            if when is None:  # "2023-13": not a date, so its year alone is not one either
                for i in range(match.start(), match.end()):
                    taken[i] = True
                continue
            singles.append(DateMatch(match.start(), match.end(), match.group(0), when))
            for i in range(match.start(), match.end()):
                taken[i] = True
    singles.sort(key=lambda m: m.start)
    return _join_ranges(text, singles)


def _word_bounded(text: str, match: re.Match[str]) -> bool:
    """Latin words must stand alone ("Mayor" holds no "May"); Japanese needs no spaces."""
    before = text[match.start() - 1] if match.start() > 0 else " "
    after = text[match.end()] if match.end() < len(text) else " "
    first, last = match.group(0)[0], match.group(0)[-1]
    if first.isascii() and first.isalnum() and before.isascii() and before.isalnum():
        return False
    return not (last.isascii() and last.isalpha() and after.isascii() and after.isalnum())


_BETWEEN = re.compile(r"^\s*(?:to|until|through|and|-|–|〜|~|から)\s*$", re.I)
_BEFORE = re.compile(r"(?:\bbefore|\buntil|\bup to)\s*$", re.I)
_AFTER = re.compile(r"(?:\bafter|\bsince)\s*$", re.I)
_JA_SINCE = re.compile(r"^\s*(?:以降|から|以来)")
_JA_UNTIL = re.compile(r"^\s*(?:以前|まで)")


def _join_ranges(text: str, singles: list[DateMatch]) -> list[DateMatch]:
    result: list[DateMatch] = []
    i = 0
    while i < len(singles):
        current = singles[i]
        following = singles[i + 1] if i + 1 < len(singles) else None
        if following and _BETWEEN.match(text[current.end : following.start]):
            end = following.end + (len(m.group(0)) if (m := _JA_UNTIL.match(text[following.end :])) else 0)
            start = current.start
            prefix = re.search(r"\b(?:from|between)\s*$", text[: current.start], re.I)
            if prefix:
                start = prefix.start()
            joined = When(current.when.start, following.when.end)
            if joined.empty:
                raise DateError(f"{text[start:end]!r} ends before it starts; write the earlier date first")
            result.append(DateMatch(start, end, text[start:end], joined))
            i += 2
            continue
        start, end, when = current.start, current.end, current.when
        if (m := _BEFORE.search(text[: current.start])) is not None:
            start, when = m.start(), When(end=current.when.start)
        elif (m := _AFTER.search(text[: current.start])) is not None:
            after = m.group(0).strip().lower() == "after"
            start, when = m.start(), When(start=current.when.end if after else current.when.start)
        elif (m := _JA_SINCE.match(text[current.end :])) is not None:
            end, when = current.end + len(m.group(0)), When(start=current.when.start)
        elif (m := _JA_UNTIL.match(text[current.end :])) is not None:
            until_end = m.group(0).strip() == "まで"
            end, when = current.end + len(m.group(0)), When(end=current.when.end if until_end else current.when.start)
        if when.months and (when.start or when.end):
            when = current.when  # "before July" has no meaning without a year: keep the month
        result.append(DateMatch(start, end, text[start:end], when))
        i += 1
    return result


def _meaning(groups: dict[str, str | None], today: date) -> When | None:
    """The time range of one matched expression (None when it names no real date)."""
    try:
        if groups.get("relative"):
            return _relative(groups["relative"].lower(), today)  # type: ignore[union-attr]
        if groups.get("month_only"):
            month = int(groups["month_only"])  # type: ignore[arg-type]
            return When(months=frozenset({month})) if 1 <= month <= 12 else None
        month = _month(groups)
        if groups.get("year") is None:
            return When(months=frozenset({month})) if month else None
        year = int(groups["year"])  # type: ignore[arg-type]
        if groups.get("season"):
            first, count = _SEASONS[groups["season"].lower()]  # type: ignore[union-attr]
            start = datetime(year, first, 1)
            return When(start, _add_months(start, count))
        if groups.get("day"):
            day = int(groups["day"])  # type: ignore[arg-type]
            if month and not 1 <= day <= calendar.monthrange(year, month)[1]:
                raise _NoSuchDay(f"{calendar.month_name[month]} {year} has {calendar.monthrange(year, month)[1]} days")
            start = datetime(year, month, day)
            return When(start, start + timedelta(days=1))
        if month:
            start = datetime(year, month, 1)
            return When(start, _add_months(start, 1))
        return When(datetime(year, 1, 1), datetime(year + 1, 1, 1))
    except _NoSuchDay:
        raise
    except ValueError:  # month 13, day 0
        return None


class _NoSuchDay(ValueError):
    """A well-formed date whose day is not in its month."""


def _month(groups: dict[str, str | None]) -> int:
    if groups.get("month_name"):
        return _MONTHS[groups["month_name"].lower().rstrip(".")]  # type: ignore[union-attr]
    if groups.get("month"):
        month = int(groups["month"])  # type: ignore[arg-type]
        if not 1 <= month <= 12:
            raise ValueError(month)
        return month
    return 0


def _relative(word: str, today: date) -> When:
    day = datetime(today.year, today.month, today.day)
    if word in ("today", "今日"):
        return When(day, day + timedelta(days=1))
    if word in ("yesterday", "昨日"):
        return When(day - timedelta(days=1), day)
    month = datetime(today.year, today.month, 1)
    if word in ("this month", "今月"):
        return When(month, _add_months(month, 1))
    if word in ("last month", "先月"):
        return When(_add_months(month, -1), month)
    back = {"this year": 0, "今年": 0, "last year": 1, "去年": 1, "昨年": 1, "一昨年": 2}[word]
    return When(datetime(today.year - back, 1, 1), datetime(today.year - back + 1, 1, 1))


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1)


def _leftover(text: str, found: list[DateMatch]) -> str:
    rest = text
    for match in sorted(found, key=lambda m: -m.start):
        rest = rest[: match.start] + " " + rest[match.end :]
    return rest.strip(" \t,.、。の")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), so ２０２５年 reads as 2025年."""
    return unicodedata.normalize("NFKC", text)
