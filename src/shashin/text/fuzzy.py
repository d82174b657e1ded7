"""Tolerant matching for text read from photos: what OCR misreads, splits or joins still matches.

OCR confuses shapes (rn/m, l/1/I, O/0, S/5), drops or doubles a letter ("furionopolis" for
FUSIONOPOLIS, "Reserver"), and breaks or joins words ("REDI / GHT" for RED LIGHT, "AD+HD"). Text is
compared here as a *stream*: Latin letters and digits only, case-folded, those confusable shapes
folded to one, spaces and punctuation gone. A query word (or the whole query) matches when its
stream is in the text's stream (a code's prefix "RE1" in "RE16 TGK", "ADHD" in "AD+HD") or, for
five letters or more, is one edit away from a piece of it. Candidates are found by shared
three-letter pieces (`grams`); `match` verifies them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# One shape for what OCR confuses (both sides are folded the same way, so nothing is lost).
_CONFUSABLE = (("rn", "m"), ("0", "o"), ("1", "l"), ("i", "l"), ("5", "s"))
MIN_EDIT_LENGTH = 5  # shorter words (codes, short signs) must match exactly, or as a prefix or part


_SINGLE_SHAPES = str.maketrans({shape: canonical for shape, canonical in _CONFUSABLE if len(shape) == 1})


def stream(text: str) -> str:
    """`text` as OCR matching compares it: Latin letters and digits, case-folded, confusable shapes folded."""
    folded = _NOT_ALNUM.sub(
        "", unicodedata.normalize("NFKC", text).casefold().replace("|", "l")
    )  # | is a letter misread
    return folded.replace("rn", "m").translate(_SINGLE_SHAPES)


def grams(text: str) -> str:
    """The three-letter pieces of each line's stream, space-separated (what candidates are found by)."""
    pieces: list[str] = []
    for line in text.splitlines() or [text]:
        folded = stream(line)
        pieces.extend(folded[i : i + 3] for i in range(len(folded) - 2))
        if 0 < len(folded) < 3:
            pieces.append(folded)
    return " ".join(pieces)


@dataclass(frozen=True)
class Tolerant:
    """How a query word was found: "partial" (inside a longer text, or split or joined) or
    "one edit" (a letter misread, dropped or added), and where in the text."""

    rule: str
    word: str  # the query word (or words) it is about
    start: int  # character span in the original text
    end: int


@dataclass(frozen=True)
class Unit:
    """A piece of the query as OCR matching looks for it: its stream, and whether it is a code
    (it has digits: a part of it may be looked for, "RE1" in "RE16")."""

    folded: str
    code: bool


def query_units(words: list[str]) -> tuple[list[Unit], Unit | None]:
    """What is looked for: each word's stream, and for several words all of them run together
    ("red light" as "redlight", for a text that OCR split elsewhere); None when there is one word."""
    units = {stream(word): any(ch.isdigit() for ch in word) for word in words}
    singles = [Unit(folded, code) for folded, code in units.items() if len(folded) >= 3]
    joined = "".join(units)
    together = Unit(joined, any(units.values())) if len(units) > 1 and len(joined) >= MIN_EDIT_LENGTH else None
    return singles, together


def found_in(unit: Unit, text: str) -> bool:
    """Whether match() would find `unit` in `text` (the quick test: no spans)."""
    whole = stream(text)
    if unit.folded in whole and (unit.code or len(unit.folded) >= MIN_EDIT_LENGTH):
        return True
    if len(unit.folded) < MIN_EDIT_LENGTH and unit.folded not in whole:
        return False
    if len(unit.folded) >= MIN_EDIT_LENGTH and not any(part in whole for part in _halves(unit.folded)):
        return False  # one edit leaves one half intact
    return match(unit, text) is not None


def _halves(word: str) -> tuple[str, str]:
    half = len(word) // 2
    return word[:half], word[half:]


def match(unit: Unit, text: str) -> Tolerant | None:
    """Where `unit` is found in `text`, tolerantly (None: it is not)."""
    for line_start, line in _lines(text):
        found = _near(unit, *_stream_with_positions(line))
        if found is not None:
            distance, start, end = found
            return Tolerant("one edit" if distance else "partial", unit.folded, line_start + start, line_start + end)
    found = _near(unit, *_stream_with_positions(text))  # split across lines: "REDI" / "GHT"
    if found is None:
        return None
    distance, start, end = found
    return Tolerant("one edit" if distance else "partial", unit.folded, start, end)


def _lines(text: str) -> list[tuple[int, str]]:
    found, offset = [], 0
    for line in text.splitlines(keepends=True):
        found.append((offset, line))
        offset += len(line)
    return found


_ALNUM_RUN = re.compile(r"[a-z0-9|]+")


def _stream_with_positions(text: str) -> tuple[str, list[tuple[int, int]], set[int]]:
    """stream(text), the span in `text` of each of its characters, and where words begin in it."""
    folded_text = unicodedata.normalize("NFKC", text).casefold()
    if len(folded_text) != len(text):  # rare characters that fold to several (ß): go character by character
        return _stream_by_character(text)
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    starts: set[int] = set()
    for run in _ALNUM_RUN.finditer(folded_text):
        starts.add(len(spans))  # one span per character of the stream
        piece = run.group(0).replace("|", "l")
        position = run.start()
        if "rn" not in piece:
            chars.append(piece.translate(_SINGLE_SHAPES))
            spans.extend((position + i, position + i + 1) for i in range(len(piece)))
            continue
        i = 0
        while i < len(piece):
            pair = piece.startswith("rn", i)  # "rn" folds to "m" over two characters
            chars.append("m" if pair else piece[i].translate(_SINGLE_SHAPES))
            spans.append((position + i, position + i + (2 if pair else 1)))
            i += 2 if pair else 1
    return "".join(chars), spans, starts


def _stream_by_character(text: str) -> tuple[str, list[tuple[int, int]], set[int]]:
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    starts: set[int] = set()
    previous_alnum = False
    for position, char in enumerate(text):
        pieces = stream(char)
        if pieces and not previous_alnum:
            starts.add(len(chars))
        previous_alnum = bool(pieces)
        for piece in pieces:
            chars.append(piece)
            spans.append((position, position + 1))
    return "".join(chars), spans, starts


def _near(query: Unit, folded: str, spans: list[tuple[int, int]], starts: set[int]) -> tuple[int, int, int] | None:
    """(0 or 1 edits, start, end in the original text) of an occurrence of `unit`, or None.

    Found as it is: when it is whole words ("adhd" in "AD+HD", "redlight" in "RED LIGHT"), or a
    code's or a long word's part ("re1" in "RE16"); a short word inside a longer one is not a
    match ("car" is not in "CARD"). One edit away: for five letters or more."""
    unit = query.folded

    def span(at: int, length: int) -> tuple[int, int]:
        return spans[at][0], spans[min(at + length, len(spans)) - 1][1]

    at = folded.find(unit)
    while at >= 0:
        whole = at in starts and (at + len(unit) == len(folded) or at + len(unit) in starts)
        if whole or query.code or len(unit) >= MIN_EDIT_LENGTH:
            return (0, *span(at, len(unit)))
        at = folded.find(unit, at + 1)
    if len(unit) < MIN_EDIT_LENGTH:
        return None
    # One edit leaves one half of the word intact: find each half, then check the window around it.
    left, right = _halves(unit)
    for part, offset in ((left, 0), (right, len(left))):
        found = folded.find(part)
        while found >= 0:
            begin = found - offset
            for start in (begin - 1, begin, begin + 1):
                for length in (len(unit) - 1, len(unit), len(unit) + 1):
                    if (
                        start >= 0
                        and start + length <= len(folded)
                        and _edits(unit, folded[start : start + length]) <= 1
                    ):
                        return (1, *span(start, length))
            found = folded.find(part, found + 1)
    return None


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (short strings)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
