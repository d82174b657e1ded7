"""The degeneration guard: catch captions a model got wrong in shape before they are indexed.

Vision-language models sometimes loop ("Types Types Types…", one sentence over and over), emit
nothing, or wrap the answer in boilerplate ("This image shows…"). Boilerplate is trimmed; the
rest is a problem with a reason, and such a caption is retried or marked failed, never indexed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Openers that say nothing about the photo. Trimmed, case-insensitively, from the start.
_BOILERPLATE = [
    re.compile(
        r"^(?:sure[,!.]?\s*)?(?:here(?:'s| is) (?:a |the )?(?:one[- ]sentence |brief |short |detailed )?"
        r"(?:description|caption)(?: of (?:the|this) (?:image|picture|photo(?:graph)?))?\s*[:.]?\s*)",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:in )?(?:this|the) (?:image|picture|photo(?:graph)?)\s*(?:shows|depicts|features|displays|captures|"
        r"presents|portrays|contains|is of|is showing|we (?:can )?see)?\s*[:,]?\s*",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:この|その)?(?:画像|写真)(?:は|には|では)[、，,]?\s*"),
]
MAX_CHARS = 20_000
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_WORD = re.compile(r"\w", re.UNICODE)
_CHAR_LOOP = re.compile(r"(.{2,24}?)\1{3,}", re.DOTALL)  # a 2–24 character unit, 4 times in a row
_CHAR_RUN = re.compile(r"(.)\1{7,}", re.DOTALL)  # one character 8 times in a row


@dataclass(frozen=True)
class GuardResult:
    """A caption after the guard: its cleaned text, and the problem when it must not be indexed."""

    text: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_caption(raw: str) -> GuardResult:
    """Clean `raw` (whitespace, quotes, boilerplate openers) and say what is wrong with it, if anything."""
    if not isinstance(raw, str):
        return GuardResult("", f"the output is a {type(raw).__name__}, not text")
    if len(raw) > MAX_CHARS:  # no caption is this long, and the loop checks below need not scan megabytes
        return GuardResult("", f"the output is {len(raw):,} characters long")
    text = unicodedata.normalize("NFC", raw or "")
    text = " ".join(text.split())
    text = text.strip().strip("\"“”「」'").strip()
    if not _WORD.search(text):
        return GuardResult("", "empty output" if not text else f"no words in the output ({text[:40]!r})")
    trimmed = _trim_boilerplate(text)
    if not _WORD.search(trimmed):
        return GuardResult("", f"only boilerplate ({text[:60]!r})")
    problem = _repetition(trimmed)
    return GuardResult(trimmed, problem)


def _trim_boilerplate(text: str) -> str:
    for pattern in _BOILERPLATE:
        match = pattern.match(text)
        if match and match.end() > 0:
            rest = text[match.end() :].lstrip(" ,:")
            if rest and rest[0].isascii() and rest[0].isalpha():
                rest = rest[0].upper() + rest[1:]
            text = rest
    return text


def _repetition(text: str) -> str | None:
    run = _CHAR_RUN.search(text)
    if run and _WORD.search(run.group(1)):
        return f"a character repeats: {run.group(0)[:30]!r}"
    words = text.split()
    for size in (1, 2, 3, 4):
        unit, count = _longest_word_loop(words, size)
        if count >= (4 if size > 1 else 5):
            return f"the phrase {' '.join(unit)!r} repeats {count} times in a row"
    loop = _CHAR_LOOP.search(text)
    if loop and _WORD.search(loop.group(1)) and len(loop.group(0)) >= 12:
        looped = loop.group(1)
        return f"the text {looped.strip()!r} repeats {len(loop.group(0)) // len(looped)} times in a row"
    sentences = [s.strip().lower() for s in _SENTENCE_END.split(text) if _WORD.search(s)]
    for sentence in set(sentences):
        if sentences.count(sentence) >= 3:
            return f"the sentence {sentence[:50]!r} repeats {sentences.count(sentence)} times"
    if len(words) >= 24 and len({w.lower() for w in words}) / len(words) < 0.3:
        return f"too few distinct words ({len({w.lower() for w in words})} of {len(words)})"
    return None


def _longest_word_loop(words: list[str], size: int) -> tuple[tuple[str, ...], int]:
    """The n-gram of `size` words repeated most often back to back, and how often."""
    best: tuple[tuple[str, ...], int] = ((), 0)
    for start in range(len(words) - size + 1):
        unit = tuple(w.lower().strip(".,;:!?") for w in words[start : start + size])
        count, position = 1, start + size
        while tuple(w.lower().strip(".,;:!?") for w in words[position : position + size]) == unit:
            count, position = count + 1, position + size
        if count > best[1]:
            best = (unit, count)
    return best
