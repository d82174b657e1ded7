"""Keyword ranking shared by every text channel: BM25 by terms, quoted phrases verified in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from shashin.channels.base import Highlight, Hit
from shashin.text.match import contains_phrases, match_spans
from shashin.text.query import KeywordQuery

# (terms, limit, require_all) -> [(key, bm25 score)], best first
SearchFn = Callable[[Sequence[str], int, bool], list[tuple[str, float]]]
# keys -> {key: the text that was indexed for it}
TextFn = Callable[[list[str]], dict[str, str]]

_PHRASE_POOL = 1000  # documents holding all of a phrase's words that are checked for the phrase


def rank_by_keywords(query: KeywordQuery, search: SearchFn, texts: TextFn, limit: int) -> list[tuple[str, float, bool]]:
    """BM25 ranking by the query's terms: (key, score, exact), best first. Exact documents hold
    every term; with phrases, only documents holding each phrase in order are returned (all exact)."""
    if query.is_empty:
        return []
    if not query.phrases:
        ranked = search(query.terms, limit, False)
        complete = {key for key, _ in search(query.terms, limit, True)} if len(query.terms) > 1 else None
        return [(key, score, complete is None or key in complete) for key, score in ranked]
    phrase_words = list(dict.fromkeys(word for phrase in query.phrases for word in phrase))
    pool = max(limit * 5, _PHRASE_POOL)
    candidates = dict(search(phrase_words, pool, True))
    if not candidates:
        return []
    stored = texts(list(candidates))
    kept = [key for key in candidates if contains_phrases(stored.get(key, ""), query)]
    scores = dict(search(query.terms, pool, False))
    ranked = sorted(((key, scores.get(key, candidates[key]), True) for key in kept), key=lambda kv: -kv[1])
    return ranked[:limit]


# (terms, limit, require_all) -> [(document key, photo id, bm25 score)], best first
DocumentSearchFn = Callable[[Sequence[str], int, bool], list[tuple[str, str, float]]]


def rank_photos_by_documents(
    query: KeywordQuery,
    search: DocumentSearchFn,
    texts: Callable[[list[str], dict[str, str]], dict[str, str]],
    limit: int,
) -> list[Hit]:
    """Keyword ranking over documents of which a photo may have several (its files, its captions):
    each photo ranks by its best document. `texts(keys, owners)` returns the documents' texts."""
    owners: dict[str, str] = {}

    def search_terms(terms: Sequence[str], n: int, require_all: bool) -> list[tuple[str, float]]:
        hits = search(terms, n, require_all)
        owners.update((key, photo_id) for key, photo_id, _ in hits)
        return [(key, score) for key, _, score in hits]

    ranked = rank_by_keywords(query, search_terms, lambda keys: texts(keys, owners), limit * 2)  # over-fetch for the merge
    return best_per_photo(((owners[key], score, exact) for key, score, exact in ranked), limit)


def best_per_photo(scored: Iterable[tuple[str, float] | tuple[str, float, bool]], limit: int) -> list[Hit]:
    """One hit per photo, with its best score (exact when any of its documents is), best first."""
    best: dict[str, float] = {}
    exact: set[str] = set()
    for photo_id, score, *flag in scored:
        if score > best.get(photo_id, float("-inf")):
            best[photo_id] = score
        if flag and flag[0]:
            exact.add(photo_id)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [Hit(pid, score, pid in exact) for pid, score in ranked]


def highlight(channel: str, field: str, text: str | None, query: KeywordQuery) -> Highlight | None:
    """The query's matches in `text`, or None when nothing in it matches."""
    if not text:
        return None
    spans = match_spans(text, query)
    return Highlight(channel, field, text, tuple(spans)) if spans else None
