"""Queries that carry their own filters: "beach July 2023", 「2025年9月 の 京都」, "cats in Tokyo".

Dates and introduced places ("in/at/near Tokyo", 「京都で」「京都の」) become filters and the rest
is searched; a place merely mentioned ("Tokyo tower", 「大阪城」) stays in the text and is also
handed to the place channel, which ranks photos taken there without excluding the others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from shashin.places import Place, gazetteer, normalize_name
from shashin.search.filters import Filters, Near
from shashin.text.dates import When, find_dates, normalize
from shashin.text.query import STOPWORDS
from shashin.text.tokenize import place_words, word_sequence

_INTRODUCED = re.compile(
    r"\b(?:in|at|near|around|from)\s+(?:the\s+)?((?:[^\W\d_][\w'’.-]*)(?:\s+[^\W\d_][\w'’.-]*){0,2})", re.I
)
_CAPITALIZED = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}")
_JA_AFTER_PLACE = re.compile(r"^\s*(?:にて|で|の|周辺|付近|近く|辺り|あたり)")
_JA_BEFORE_PLACE = re.compile(r"の\s*$")
_DANGLING = re.compile(
    r"^(?:\s|[,、。]|の|で|に|にて|から|まで)+|(?:\s|[,、。]|の|で|に|にて|から|まで)+$|\b(?:in|on|at|from|during|of|near|taken)\s*$",
    re.I,
)
# What joins a name to the next word: 「健と海」, 「健や美亜」, "Ken and Mia", "Ken & Mia", "Ken with Mia"
_AFTER_NAME = re.compile(r"\s*(?:と|や|、|,|&|\band\b|\bwith\b)", re.I)
# "4 stars", "4+ stars", "at least 4 stars", "rated 4 stars or more", "★★★★", "★4", 「星4以上」「星4つ」「4つ星」
_RATING = re.compile(
    r"(?:\b(?:rated|at\s+least)\s+)?\b(?P<en>[1-5])\s*\+?\s*-?\s*stars?\b"
    r"(?:\s+(?:or\s+(?:more|better|above|higher)|and\s+(?:up|above)))?"
    r"|(?P<stars>★{1,5})(?!\s*[1-5])\s*(?:以上)?|★\s*(?P<digit>[1-5])\s*(?:以上)?"
    r"|星\s*(?P<ja>[1-5一二三四五])\s*つ?\s*(?:以上)?|(?P<ja2>[1-5一二三四五])\s*つ星\s*(?:以上)?",
    re.I,
)
_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_MIN_LOWERCASE_POPULATION = 1_000_000
_MIN_ALIAS_POPULATION = 100_000  # "in rain": a village called Rain is not what was meant
# A place name before one of these names something else, not where a photo was taken: a flag, a
# breed, a dish, a map ("Boston terrier", "New York strip", 「アメリカの国旗」「フランス料理」).
_NAMES_SOMETHING_ELSE = frozenset(
    [
        "flag",
        "flags",
        "map",
        "maps",
        "terrier",
        "terriers",
        "retriever",
        "shepherd",
        "bulldog",
        "spaniel",
        "hound",
        "cat",
        "cats",
        "strip",
        "steak",
        "cuisine",
        "food",
        "dish",
        "sauce",
        "dressing",
        "salad",
        "roll",
        "rolls",
        "cheese",
        "bread",
        "toast",
        "fries",
        "style",
        "flu",
        "embassy",
        "anthem",
        "team",
        "jersey",
        "uniform",
        "passport",
        "stamp",
        "stamps",
        "coin",
        "coins",
        "currency",
        "license",
        "plate",
        "breed",
        "国旗",
        "旗",
        "地図",
        "料理",
        "国歌",
        "大使館",
        "代表",
        "犬",
        "猫",
        "種",
        "風",
        "式",
        "産",
        "製",
        "人",
        "語",
        "文字",
        "切手",
        "硬貨",
        "紙幣",
        "通貨",
        "ナンバー",
        "ユニフォーム",
        "パスポート",
        "チーム",
    ]
)
_NEXT_WORD = re.compile(r"\s*(?:の\s*)?([^\W\d_]+)")


@dataclass(frozen=True)
class ParsedQuery:
    """What is left to search, the filters the query carried, and places it only mentioned."""

    text: str
    filters: Filters = field(default_factory=Filters)
    mentioned: tuple[Place, ...] = ()
    understood: tuple[str, ...] = ()  # the parsed parts in words, for explanations


def parse_query(text: str, *, today: date | None = None, names: Sequence[str] = ()) -> ParsedQuery:
    """Split `text` into search words, date filters, place filters, a rating and the people it
    names (`names`: the library's own, "Ken", 「健」; a name the library lacks stays a word)."""
    text = normalize(text).strip()
    if '"' in text or "「" in text:  # quoted words are searched as written, never parsed
        quoted = re.findall(r'"[^"]*"|「[^」]*」', text)
        masked = re.sub(r'"[^"]*"|「[^」]*」', lambda m: "\0" * len(m.group(0)), text)
    else:
        quoted, masked = [], text
    when: When | None = None
    understood: list[str] = []
    removed: list[tuple[int, int]] = []
    for match in find_dates(masked, today):
        when = match.when if when is None else when.intersect(match.when)
        understood.append(f"date: {match.text} → {match.when.describe()}")
        removed.append((match.start, match.end))
    masked = _blank(masked, removed)
    people, removed = _people(masked, names)
    understood += [f"person: {name}" for name in people]
    masked = _blank(masked, removed)
    rating, removed = _rating(masked)
    if rating:
        understood.append(f"rating: {'★' * rating} or more")
    masked = _blank(masked, removed)
    places, mentioned, removed = _places(masked)
    for place, _said in places:
        understood.append(f"place: {place.label}")
    for place in dict.fromkeys(mentioned):
        understood.append(f"place named, ranks only: {place.label}")
    masked = _blank(masked, removed)
    rest = _restore(masked, quoted)
    rest = re.sub(r"\s+", " ", rest)
    while (cleaned := _DANGLING.sub("", rest).strip()) != rest:
        rest = cleaned
    near = tuple(Near.of(place, said=said) for place, said in places)
    filters = Filters.of(when, near, rating=rating, people=tuple(people))
    return ParsedQuery(rest, filters, tuple(mentioned), tuple(understood))


def _people(text: str, names: Sequence[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """The library's names found in the query (the longest first), and where."""
    found, spans = [], []
    taken = [False] * len(text)
    for alias, name in sorted(_aliases(names).items(), key=lambda kv: len(kv[0]), reverse=True):
        # A kanji name must not be part of a longer kanji word (健 is not in 健康); Latin names are whole words.
        pattern = (
            r"(?<![\u4e00-\u9fff])" + re.escape(alias) + r"(?![\u4e00-\u9fff])"
            if _CJK.search(alias)
            else r"(?<![\w])" + re.escape(alias) + r"(?![\w])"
        )
        for match in re.finditer(pattern, text, re.I):
            if any(taken[match.start() : match.end()]):
                continue
            joined = _AFTER_NAME.match(text, match.end())
            end = joined.end() if joined else match.end()
            taken[match.start() : end] = [True] * (end - match.start())
            spans.append((match.start(), end))
            if name not in found:
                found.append(name)
    return found, spans


def _aliases(names: Sequence[str]) -> dict[str, str]:
    """What a query may call each person: the whole name, or one word of it (3+ letters, not a
    stopword) that no other name has — "Obama" for Barack Obama, not "Joe" when two are called Joe."""
    aliases = {name: name for name in names if name.strip()}
    owners: dict[str, set[str]] = {}
    for name in aliases:
        for word in name.split():
            owners.setdefault(word.casefold(), set()).add(name)
    for word, who in owners.items():
        if len(who) == 1 and len(word) >= 3 and word not in STOPWORDS:
            aliases.setdefault(word, next(iter(who)))
    return aliases


def _rating(text: str) -> tuple[int | None, list[tuple[int, int]]]:
    """The least number of stars the query asks for ("4 stars", 「星4以上」), and where it said so."""
    best, spans = None, []
    for match in _RATING.finditer(text):
        value = match.group("en") or match.group("digit") or match.group("ja") or match.group("ja2")
        stars = (
            len(match.group("stars")) if match.group("stars") else _KANJI_DIGITS.get(value or "", 0) or int(value or 0)
        )
        if 1 <= stars <= 5:
            best = max(best or 0, stars)
            spans.append((match.start(), match.end()))
    return best, spans


def _places(text: str) -> tuple[list[tuple[Place, str]], list[Place], list[tuple[int, int]]]:
    """(places that filter with the words that named them, places only mentioned, spans to remove)."""
    filters: list[tuple[Place, str]] = []
    mentioned: list[Place] = []
    removed: list[tuple[int, int]] = []
    stripped = text.strip()
    for match in _INTRODUCED.finditer(text):
        words = match.group(1).split()
        after_the = match.group(0)[: match.start(1) - match.start()].rstrip().lower().endswith("the")
        for count in range(len(words), 0, -1):  # the longest name first: "New York" before "New"
            name = " ".join(words[:count])
            # "in the Airport": after "the", only a well-known place ("in the Hague") is a place.
            place = _known(name, capitalized=_capitalized(name), well_known=after_the)
            if place and _names_something_else(text, match.start(1) + len(name)):
                break  # "in a Boston terrier costume": the name is part of another
            if place:
                filters.append((place, name))
                end = match.start(1) + len(name)
                removed.append((match.start(), end))
                break
    for surface, start, end in place_words(text):
        place = _known(surface, capitalized=True)
        if place is None or _names_something_else(text, end):
            continue
        after = _JA_AFTER_PLACE.match(text[end:])
        before = _JA_BEFORE_PLACE.search(text[:start])
        if after or before:  # 「京都で」「京都の寺」「2025年9月の京都」: where it was taken
            filters.append((place, surface))
            removed.append((before.start() if before else start, end + (len(after.group(0)) if after else 0)))
        else:  # 「東京タワー」「東京 ラーメン」: a word of the subject, ranked by place too
            mentioned.append(place)
    if not filters and not removed:
        whole = (
            _known(stripped, capitalized=_capitalized(stripped))
            if stripped and not any(c.isdigit() for c in stripped)
            else None
        )
        if whole:  # the query is only a place: photos from there
            return [(whole, stripped)], [], [(0, len(text))]
        for match in _CAPITALIZED.finditer(text):
            if match.start() == 0 and len(stripped.split()) > 4:
                continue  # a sentence's first word is capitalized anyway: "Man in apron standing…"
            if not _names_something_else(text, match.end()):
                mentioned.extend(_named_in(match.group(0).split()))
    return filters, mentioned, removed


def _names_something_else(text: str, end: int) -> bool:
    """Whether the place name ending at `end` is the first part of a name for something else
    ("Boston terrier", 「アメリカの国旗」): a word of _NAMES_SOMETHING_ELSE follows it."""
    following = _NEXT_WORD.match(text, end)
    if not following:
        return False
    word = following.group(1)
    if _CJK.match(word):  # Japanese has no spaces: the next word as the tokenizer reads it (人気 is not 人)
        words = word_sequence(text[following.start(1) :])
        word = text[following.start(1) + words[0].start : following.start(1) + words[0].end] if words else word
    return word.lower() in _NAMES_SOMETHING_ELSE


def _named_in(words: list[str]) -> list[Place]:
    """Places named by runs of capitalized words, longest first: "New York Marathon" → New York,
    "Tokyo Station" → Tokyo."""
    found: list[Place] = []
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            name = " ".join(words[start:end])
            place = (
                _known(name, capitalized=_capitalized(name), own_name=True, well_known=True)
                if name.lower() not in STOPWORDS
                else None
            )
            if place:
                found.append(place)
                start = end
                break
        else:
            start += 1
    return found


def _known(name: str, *, capitalized: bool, own_name: bool = False, well_known: bool = False) -> Place | None:
    """The place `name` is taken for, or None. `own_name`: by its own name (or a city of a million
    by another); `well_known`: only a country or a town of 100,000+."""
    name = name.strip(" ,.'’")
    if len(name) < 2 or "\0" in name:
        return None
    key = normalize_name(name)
    for place in gazetteer().lookup(name):
        # GeoNames' alternate names include odd ones ("Fireworks" for a village, "Man" for
        # Manchester): written as a name, a town must be called by its own name or be a city;
        # a lower-case word ("man", "nice") must be a country or a big city's own name.
        own = key in (normalize_name(place.name), normalize_name(place.local_name))
        big = place.is_country or place.population >= _MIN_ALIAS_POPULATION
        if (own_name and not own and place.population < _MIN_LOWERCASE_POPULATION) or (well_known and not big):
            continue  # a mention by another name must be a city of a million ("New York")
        if place.is_country or (own and place.population >= _MIN_LOWERCASE_POPULATION):
            return place
        if capitalized and (own or big):
            return place
    return None


def _capitalized(name: str) -> bool:
    """Written like a name: an upper-case initial but not all capitals (THERE IS A MAN says
    nothing), or Japanese/Chinese script (which has no case)."""
    if _CJK.match(name):
        return True
    return name[:1].isupper() and not (name.isupper() and len(name) > 1)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _restore(masked: str, quoted: list[str]) -> str:
    for part in quoted:
        masked = re.sub("\0+", lambda _: part, masked, count=1)  # noqa: B023 (used at once)
    return masked
