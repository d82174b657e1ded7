"""Keyword query syntax: free words plus quoted phrases ("NO LITTER", 「東京駅」, “…”)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shashin.text.tokenize import terms, word_sequence

_QUOTED = re.compile(r'"([^"]*)"|「([^」]*)」|“([^”]*)”|『([^』]*)』')


@dataclass(frozen=True)
class KeywordQuery:
    """A query as keyword channels see it: terms to score and phrases that must match in order."""

    text: str
    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return not self.terms


def parse_keywords(text: str) -> KeywordQuery:
    """Tokenize `text`; every quoted part becomes a phrase (its words, in order, adjacent)."""
    phrases: list[tuple[str, ...]] = []
    for match in _QUOTED.finditer(text):
        quoted = next(group for group in match.groups() if group is not None)
        words = tuple(token.term for token in word_sequence(quoted))
        if len(words) > 1:
            phrases.append(words)
    unquoted = text.replace("“", '"').replace("”", '"')
    unique = tuple(dict.fromkeys(terms(unquoted)))
    return KeywordQuery(text=text, terms=unique, phrases=tuple(phrases))
