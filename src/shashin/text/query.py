"""Keyword query syntax: free words plus quoted phrases ("NO LITTER", 「東京駅」, “…”)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shashin.text.tokenize import tokenize, word_sequence

_QUOTED = re.compile(r'"([^"]*)"|「([^」]*)」|“([^”]*)”|『([^』]*)』')

# English function words dropped from queries that have other words ("THERE IS A MAN IN THE
# AIRPORT" searches man, airport...): they match nearly every caption and every sign and would
# make weak matches look like agreement. Japanese particles are already dropped by the tokenizer,
# and words that only support others (いる of 走っている, こと) go the same way (Token.function).
# Words for the photo itself ("a photo of", 写真) say nothing about what it shows.
# Negations stay: "NO LITTER" is a sign.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "into",
        "onto",
        "over",
        "under",
        "and",
        "or",
        "but",
        "there",
        "here",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "as",
        "some",
        "any",
        "his",
        "her",
        "their",
        "our",
        "your",
        "my",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "very",
        "while",
        "which",
        "who",
        "whom",
        "what",
        "where",
        "when",
        "photo",
        "photos",
        "picture",
        "pictures",
        "image",
        "images",
        "写真",
        "画像",
    ]
)


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
    tokens = tokenize(unquoted)
    unique = tuple(dict.fromkeys(token.term for token in tokens))
    supporting = {token.term for token in tokens if token.function}
    content = tuple(term for term in unique if term not in STOPWORDS and term not in supporting)
    return KeywordQuery(text=text, terms=content or unique, phrases=tuple(phrases))
