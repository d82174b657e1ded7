"""Keyword ranking shared by every text channel: BM25 by terms, quoted phrases verified in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from shashin.channels.base import ChannelQuery, Highlight, Hit
from shashin.text.glossary import english_words
from shashin.text.match import contains_phrases, holds_words, match_spans
from shashin.text.query import KeywordQuery
from shashin.text.tokenize import search_form

# (terms, limit, require_all) -> [(key, bm25 score, coverage)], best first
SearchFn = Callable[[Sequence[str], int, bool], list[tuple[str, float, float]]]
# keys -> {key: the text that was indexed for it}
TextFn = Callable[[list[str]], dict[str, str]]

_PHRASE_POOL = 1000  # documents holding all of a phrase's words that are checked for the phrase
_EXACT = 0.999  # coverage at which a document holds every word of the query
STEM_CREDIT = 0.9  # a hit that holds a word only by its stem counts this much of one that holds it as asked
VERIFIED = 50  # exact hits checked for the words as asked (exact_before_stem)


def rank_by_keywords(query: KeywordQuery, search: SearchFn, texts: TextFn, limit: int) -> list[Hit]:
    """BM25 ranking by the query's terms, best first, keyed by document. A hit's quality is the
    share of the query it holds (1: every word, `exact`); with phrases, only documents holding
    each phrase in order are returned, all exact."""
    if query.is_empty:
        return []
    if not query.phrases:
        hits = [
            Hit(key, float(score), bool(coverage >= _EXACT), float(coverage))
            for key, score, coverage in search(query.terms, limit, False)
        ]
        return exact_before_stem(hits, query, texts)
    phrase_words = list(dict.fromkeys(word for phrase in query.phrases for word in phrase))
    pool = max(limit * 5, _PHRASE_POOL)
    candidates = {key: score for key, score, _ in search(phrase_words, pool, True)}
    if not candidates:
        return []
    stored = texts(list(candidates))
    kept = [key for key in candidates if contains_phrases(stored.get(key, ""), query)]
    scores = {key: score for key, score, _ in search(query.terms, pool, False)}
    ranked = sorted(((key, scores.get(key, candidates[key])) for key in kept), key=lambda kv: -kv[1])
    return [Hit(key, score, True, 1.0) for key, score in ranked[:limit]]


def exact_before_stem(hits: list[Hit], query: KeywordQuery, texts: TextFn) -> list[Hit]:
    """Hits that hold every word only by its stem ("citi" for CITY, "dog" for dogs) are no longer
    exact: they count STEM_CREDIT of their quality and score and rank below the exact ones, and
    the explanation says "by stem". Only English words are stemmed, so only they are checked, and
    only in the first VERIFIED exact hits (reading every text cost a keyword search 4 ms at 100k
    photos; deeper hits rarely reach a page)."""
    stemmed = [term for term in query.terms if search_form(term) != term or _stems_to_itself(term)]
    claimed = [hit.photo_id for hit in hits if hit.exact][:VERIFIED]
    if not stemmed or not claimed:
        return hits
    stored = texts(claimed)
    holds = holds_words(stemmed)
    demoted = {key for key in claimed if not holds(stored.get(key, ""))}
    if not demoted:
        return hits
    changed = [
        Hit(hit.photo_id, hit.score * STEM_CREDIT, False, hit.quality * STEM_CREDIT) if hit.photo_id in demoted else hit
        for hit in hits
    ]
    return sorted(changed, key=lambda hit: -hit.score)


def _stems_to_itself(term: str) -> bool:
    """An English word whose stem is itself ("citi", "car"): other words may share it (city, cars)."""
    return len(term) >= 3 and term.isascii() and term.isalpha()


# (terms, limit, require_all) -> [(document key, photo id, bm25 score, coverage)], best first
DocumentSearchFn = Callable[[Sequence[str], int, bool], list[tuple[str, str, float, float]]]


def rank_photos_by_documents(
    query: KeywordQuery,
    search: DocumentSearchFn,
    texts: Callable[[list[str], dict[str, str]], dict[str, str]],
    limit: int,
) -> list[Hit]:
    """Keyword ranking over documents of which a photo may have several (its files, its captions):
    each photo ranks by its best document. `texts(keys, owners)` returns the documents' texts."""
    owners: dict[str, str] = {}

    def search_terms(terms: Sequence[str], n: int, require_all: bool) -> list[tuple[str, float, float]]:
        hits = search(terms, n, require_all)
        owners.update((key, photo_id) for key, photo_id, _, _ in hits)
        return [(key, score, coverage) for key, _, score, coverage in hits]

    ranked = rank_by_keywords(
        query, search_terms, lambda keys: texts(keys, owners), limit * 2
    )  # over-fetch for the merge
    return best_per_photo((Hit(owners[hit.photo_id], hit.score, hit.exact, hit.quality) for hit in ranked), limit)


def best_per_photo(hits: Iterable[Hit], limit: int) -> list[Hit]:
    """One hit per photo, with its best score and its best quality (exact when any of its
    documents is), best first."""
    best: dict[str, Hit] = {}
    for hit in hits:
        known = best.get(hit.photo_id)
        if known is None:
            best[hit.photo_id] = hit
        else:
            best[hit.photo_id] = Hit(
                hit.photo_id, max(known.score, hit.score), known.exact or hit.exact, max(known.quality, hit.quality)
            )
    return sorted(best.values(), key=lambda h: -h.score)[:limit]


def highlight(channel: str, field: str, text: str | None, query: KeywordQuery) -> Highlight | None:
    """The query's matches in `text`, or None when nothing in it matches."""
    if not text:
        return None
    spans = match_spans(text, query)
    return Highlight(channel, field, text, tuple(spans)) if spans else None


def in_english(query: ChannelQuery) -> KeywordQuery | None:
    """The query's Japanese words in English (text.glossary), as a keyword query; None when none:
    what a channel whose texts are English asks besides the query itself."""
    words = tuple(word for word in english_words(query.text) if word not in query.keywords.terms)
    return KeywordQuery(" ".join(words), words) if words else None
