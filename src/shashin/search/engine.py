"""One search: every channel's ranking, fused, paged, with paths and highlights for the page shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shashin.channels.base import Channel, ChannelQuery, Hit, ModelUnavailable, ResultPage
from shashin.config import SearchSettings
from shashin.search.explain import Snippet, snippet
from shashin.search.fuse import ChannelMatch, fuse_rankings
from shashin.store import Store


@dataclass(frozen=True)
class SearchResult:
    """One photo in the results: where it is, how well it matched, and why."""

    rank: int
    photo_id: str
    path: str
    score: float
    channels: dict[str, ChannelMatch]
    highlights: list[Snippet] = field(default_factory=list)
    other_paths: list[str] = field(default_factory=list)  # copies of the same photo

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "path": self.path,
            "photo_id": self.photo_id,
            "score": round(self.score, 6),
            "channels": {name: {"rank": m.rank, "score": round(m.score, 6)} for name, m in self.channels.items()},
            "highlights": [h.to_dict() for h in self.highlights],
            "other_paths": self.other_paths,
        }


@dataclass(frozen=True)
class SearchResponse:
    """A page of results and how many photos matched in all."""

    query: str
    results: list[SearchResult]
    total: int
    offset: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)  # channel -> why it could not answer

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "results": [result.to_dict() for result in self.results],
            "unavailable_channels": self.unavailable,
        }


def search_photos(
    store: Store,
    channels: Sequence[Channel],
    text: str,
    settings: SearchSettings,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchResponse:
    """Rank the library's photos for `text` with every channel and fuse the rankings."""
    query = ChannelQuery.from_text(text)
    depth = max(settings.candidates, offset + limit)
    rankings: dict[str, list[Hit]] = {}
    unavailable: dict[str, str] = {}
    for channel in channels:
        try:
            rankings[channel.name] = channel.search(query, store, depth)
        except ModelUnavailable as exc:  # the other channels still answer
            unavailable[channel.name] = str(exc)
    return respond(store, channels, query, rankings, settings, limit=limit, offset=offset, unavailable=unavailable)


def respond(
    store: Store,
    channels: Sequence[Channel],
    query: ChannelQuery,
    rankings: dict[str, list[Hit]],
    settings: SearchSettings,
    *,
    limit: int,
    offset: int,
    unavailable: dict[str, str] | None = None,
) -> SearchResponse:
    """Fuse channel rankings and describe one page of them: paths, copies, highlights."""
    fused = fuse_rankings(rankings, k=settings.rrf_k, weights=settings.weights)
    shown = fused[offset : offset + limit]
    ids = [hit.photo_id for hit in shown]
    page = ResultPage(ids, store.file_rows_for(ids), store.get_photos(ids))
    highlights: dict[str, list[Snippet]] = {}
    for channel in channels:
        for photo_id, found in channel.highlights(query, store, page).items():
            highlights.setdefault(photo_id, []).extend(snippet(h) for h in found)
    results: list[SearchResult] = []
    for position, hit in enumerate(shown, start=offset + 1):
        paths = [row.path for row in page.files.get(hit.photo_id, [])]
        if not paths:
            continue  # removed between ranking and display
        results.append(
            SearchResult(position, hit.photo_id, paths[0], hit.score, hit.channels, highlights.get(hit.photo_id, []), paths[1:])
        )
    return SearchResponse(query.text, results, len(fused), offset, unavailable or {})
