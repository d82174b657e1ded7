"""Where a keyword query matches inside a text: phrase checks and highlight spans."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence

from shashin.text.query import KeywordQuery
from shashin.text.tokenize import Token, search_form, tokenize

Span = tuple[int, int]


_CACHED_TEXT = 4000  # characters: longer texts (a page of a document) are tokenized each time


def _tokens(text: str) -> tuple[Token, ...]:
    """The words of a text matched against queries. The texts of the photos shown are matched
    again by every search that shows them (a server's first page, over and over): kept."""
    return _cached_tokens(text) if len(text) <= _CACHED_TEXT else tuple(tokenize(text))


@functools.lru_cache(maxsize=16384)
def _cached_tokens(text: str) -> tuple[Token, ...]:
    return tuple(tokenize(text))


def _phrase_spans(tokens: Sequence[Token], phrase: tuple[str, ...]) -> list[Span]:
    words = [token for token in tokens if not token.sub]
    forms = [search_form(token.term) for token in words]
    wanted = tuple(search_form(word) for word in phrase)
    n = len(wanted)
    return [
        (words[i].start, words[i + n - 1].end) for i in range(len(words) - n + 1) if tuple(forms[i : i + n]) == wanted
    ]


def contains_phrases(text: str, query: KeywordQuery) -> bool:
    """True when every phrase of `query` occurs in `text` as adjacent words, in order."""
    if not query.phrases:
        return True
    tokens = _tokens(text)
    return all(_phrase_spans(tokens, phrase) for phrase in query.phrases)


def match_spans(text: str, query: KeywordQuery) -> list[Span]:
    """Character spans of `text` that match the query's terms or phrases, sorted and merged."""
    if _cannot_match(text, query):
        return []
    tokens = _tokens(text)
    wanted = {search_form(term) for term in query.terms}
    spans: list[Span] = [(t.start, t.end) for t in tokens if search_form(t.term) in wanted]
    for phrase in query.phrases:
        spans.extend(_phrase_spans(tokens, phrase))
    return merge_spans(spans)


def _cannot_match(text: str, query: KeywordQuery) -> bool:
    """A cheap early no: ASCII terms are matched by their stems, which share all but their last
    two letters with any word they match ("happi" for happy), so a text that contains none of
    those beginnings holds no match (Japanese terms, matched by Sudachi's normalized form, always
    go through the tokenizer)."""
    words = set(query.terms) | {word for phrase in query.phrases for word in phrase}
    if not words or not all(word.isascii() for word in words):
        return False
    folded = unicodedata.normalize("NFKC", text).casefold()
    return not any(word[: max(1, len(word) - 2)] in folded for word in words)


_SEPARATORS = re.compile(r"[\W_]+")


def holds_words(words: list[str]) -> Callable[[str], bool]:
    """A test of whether a text holds each English word as written (case aside), not only a word
    with its stem: "city" in "CITY LIGHTS", not in "CITI"."""
    wanted = set(words)

    def holds(text: str) -> bool:
        folded = text.casefold() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
        return wanted <= set(_SEPARATORS.split(folded))

    return holds


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sort spans and merge those that overlap or touch."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
