"""Keyword ranking shared by every text channel: BM25 by terms, quoted phrases verified in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shashin.channels.base import Highlight
from shashin.text.match import contains_phrases, match_spans
from shashin.text.query import KeywordQuery

# (terms, limit, require_all) -> [(key, bm25 score)], best first
SearchFn = Callable[[Sequence[str], int, bool], list[tuple[str, float]]]
# keys -> {key: the text that was indexed for it}
TextFn = Callable[[list[str]], dict[str, str]]

_PHRASE_POOL = 1000  # documents holding all of a phrase's words that are checked for the phrase


def rank_by_keywords(query: KeywordQuery, search: SearchFn, texts: TextFn, limit: int) -> list[tuple[str, float]]:
    """BM25 ranking by the query's terms; with phrases, only documents holding each phrase in order."""
    if query.is_empty:
        return []
    if not query.phrases:
        return search(query.terms, limit, False)
    phrase_words = list(dict.fromkeys(word for phrase in query.phrases for word in phrase))
    pool = max(limit * 5, _PHRASE_POOL)
    candidates = dict(search(phrase_words, pool, True))
    if not candidates:
        return []
    stored = texts(list(candidates))
    kept = [key for key in candidates if contains_phrases(stored.get(key, ""), query)]
    scores = dict(search(query.terms, pool, False))
    ranked = sorted(((key, scores.get(key, candidates[key])) for key in kept), key=lambda kv: -kv[1])
    return ranked[:limit]


def highlight(channel: str, field: str, text: str | None, query: KeywordQuery) -> Highlight | None:
    """The query's matches in `text`, or None when nothing in it matches."""
    if not text:
        return None
    spans = match_spans(text, query)
    return Highlight(channel, field, text, tuple(spans)) if spans else None
