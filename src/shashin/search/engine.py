"""One search: parse the query, filter, ask every channel, fuse, sort, page, and explain the page.

The CLI, the Python API and the web all call search_photos(); nothing else ranks photos.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from shashin.channels.base import Channel, ChannelQuery, Hit, ModelUnavailable, ResultPage
from shashin.channels.keywords import STEM_CREDIT
from shashin.config import SearchSettings
from shashin.people.decisions import known_names
from shashin.search import SORTS, Sort, sort_order
from shashin.search.exclude import Removal, removals
from shashin.search.explain import Snippet, snippet
from shashin.search.facets import FacetValue, facets
from shashin.search.filters import FilterError, Filters, PlaceOfPhoto, places_in
from shashin.search.fuse import ChannelMatch, FusedHit, FusionConfig, Weighing, fuse_rankings
from shashin.search.logic import QueryLogic, split_logic
from shashin.search.parse import ParsedQuery, parse_query
from shashin.search.relevance import calibration_for
from shashin.store import PhotoSet, Store, StoreError
from shashin.text.lang import guess_language
from shashin.threads import blas_threads


@dataclass(frozen=True)
class SearchResult:
    """One photo in the results: where it is, how well it matched, and why."""

    rank: int
    photo_id: str
    path: str
    score: float  # the fused score (normalized channel scores, weighted; or reciprocal ranks)
    channels: dict[str, ChannelMatch]
    highlights: list[Snippet] = field(default_factory=list)
    other_paths: list[str] = field(default_factory=list)  # copies of the same photo
    relevance: float = 0.0  # the fused score scaled to [0, 1]
    taken_at: datetime | None = None
    place: PlaceOfPhoto | None = None
    found_by: tuple[str, ...] = ()  # with OR: the alternatives that found it

    @property
    def exact(self) -> bool:
        return any(m.exact for m in self.channels.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "path": self.path,
            "photo_id": self.photo_id,
            "score": round(self.score, 6),
            "relevance": round(self.relevance, 4),
            "exact": self.exact,
            "channels": {
                name: {
                    "rank": m.rank,
                    "score": round(m.score, 6),
                    "exact": m.exact,
                    "matched": _matched(m),
                    "evidence": round(m.evidence, 4),
                }
                for name, m in self.channels.items()
            },
            "highlights": [h.to_dict() for h in self.highlights],
            "tags": [h.text for h in self.highlights if h.channel == "tags"],
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "place": self.place.describe() if self.place else None,
            "other_paths": self.other_paths,
            **({"found_by": list(self.found_by)} if self.found_by else {}),
        }


def _matched(match: ChannelMatch) -> str:
    """How much of the query a keyword channel found, in words ("" for a meaning channel)."""
    if match.exact:
        return "every word"
    if abs(match.quality - STEM_CREDIT) < 1e-9:
        return "every word, by stem"
    return f"{match.quality:.0%} of the query" if match.quality < 1 else ""


@dataclass(frozen=True)
class SearchResponse:
    """A page of results, how many photos matched in all, and how the query was understood."""

    query: str
    results: list[SearchResult]
    total: int
    offset: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)  # channel -> why it could not answer
    searched: str = ""  # the words left after dates and places were taken out
    filters: Filters = field(default_factory=Filters)
    understood: tuple[str, ...] = ()
    sort: str = "relevance"
    # Every channel's hits and the fused ranking (photo ids), for evaluation; not in to_dict().
    hits: dict[str, list[Hit]] = field(default_factory=dict, repr=False)
    ranking: list[str] = field(default_factory=list, repr=False)
    removed: list[Removal] = field(default_factory=list)  # what each excluded term took out
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)  # when asked for (SearchOptions.facets)
    cut: int = 0  # results less relevant than the cut-off, not shown (SearchOptions.everything shows them)
    cutoff: float = 0.0  # the relevance below which results were not shown (0: none were hidden)
    weighing: dict[str, Weighing] = field(default_factory=dict)  # each channel's weight for this query, and why
    fusion: FusionConfig | None = field(default=None, repr=False)  # how the ranking was fused, for evaluation

    @property
    def nothing_matched(self) -> bool:
        """Every result found was below the cut-off: the query matches nothing well."""
        return not self.total and self.cut > 0

    @property
    def rankings(self) -> dict[str, list[str]]:
        """Each channel's ranking as photo ids, best first."""
        return {name: [hit.photo_id for hit in hits] for name, hits in self.hits.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "searched": self.searched,
            "understood": list(self.understood),
            "filters": self.filters.to_dict(),
            "sort": self.sort,
            "total": self.total,
            "cut": self.cut,
            "cutoff": round(self.cutoff, 4),
            "offset": self.offset,
            "results": [result.to_dict() for result in self.results],
            "unavailable_channels": self.unavailable,
            "excluded": [removal.to_dict() for removal in self.removed],
            "weighing": {name: weighing.to_dict() for name, weighing in self.weighing.items()},
            **({"facets": {k: [v.to_dict() for v in vs] for k, vs in self.facets.items()}} if self.facets else {}),
        }


@dataclass(frozen=True)
class SearchOptions:
    """How to search besides the words: filters, whether to read filters out of the query, and
    which results to show."""

    filters: Filters = field(default_factory=Filters)
    parse: bool = True
    limit: int = 20
    offset: int = 0
    sort: Sort = "relevance"
    min_score: float = 0.0  # minimum relevance (0-1)
    everything: bool = False  # also the results below the relevance cut-off (--all)
    today: date | None = None  # for "last year"; None: today
    facets: bool = False  # count the photos found by year, place, camera, text, keyword, person


def search_photos(
    store: Store,
    channels: Sequence[Channel],
    text: str,
    settings: SearchSettings,
    options: SearchOptions | None = None,
) -> SearchResponse:
    """Rank the library's photos for `text` with every channel and fuse the rankings: the steps
    below, each a function a reader and a profiler can see — plan (parse the query, filter),
    rank (every channel), fuse, exclude, order, then describe the page."""
    options = options or SearchOptions()
    blas_threads(settings.blas_threads)
    plan = make_plan(store, text, options)
    ranked = rank(store, channels, plan, settings, options)
    fusion = fused_ranking(store, channels, plan, ranked, settings, options)
    fused, removed = leave_out_excluded(store, channels, plan, ranked, fusion.hits, settings)
    fused = order(store, fused, fusion.sort)
    results = describe(
        store, channels, plan.query, fused[options.offset : options.offset + options.limit], options.offset
    )
    if len(ranked.per_branch) > 1:  # which alternative found each photo shown
        found_by = _found_by(ranked.asked, ranked.per_branch, channels, {r.photo_id for r in results})
        results = [dataclasses.replace(r, found_by=tuple(found_by.get(r.photo_id, ()))) for r in results]
    return SearchResponse(
        text,
        results,
        len(fused),
        options.offset,
        unavailable=ranked.unavailable,
        searched=" OR ".join(plan.branches) if len(plan.branches) > 1 else plan.query.text,
        filters=plan.filters,
        understood=plan.parsed.understood + plan.logic.understood(),
        sort=fusion.sort,
        hits=ranked.rankings,
        ranking=[hit.photo_id for hit in fused],
        removed=removed,
        facets=facets(store, [hit.photo_id for hit in fused]) if options.facets else {},
        cut=fusion.cut,
        cutoff=fusion.cutoff,
        weighing=fusion.weighing,
        fusion=fusion.config,
    )


@dataclass(frozen=True)
class Plan:
    """What a search asks: the query's logic (OR, exclusions), the words of each alternative, the
    filters (the query's own and the options'), the photos they allow, and the channels' query."""

    logic: QueryLogic
    parsed: ParsedQuery
    filters: Filters
    within: PhotoSet | None  # None: every photo
    branches: list[str]  # each alternative's words
    query: ChannelQuery


def make_plan(store: Store, text: str, options: SearchOptions) -> Plan:
    """Read the query (OR and exclusions; dates, places, people and a rating out of the words)
    and resolve every filter to the photos it allows."""
    names = known_names(store) if options.parse else ()
    logic = split_logic(text) if options.parse else QueryLogic((text.strip(),))
    asked = text if logic.plain else " ".join(logic.branches)
    parsed = parse_query(asked, today=options.today, names=names) if options.parse else ParsedQuery(text.strip())
    filters = parsed.filters.merged(options.filters)
    if filters.when is not None and filters.when.empty:
        raise FilterError(f"the dates asked for leave no time between them ({filters.when.describe()})")
    within = filters.photo_set(store) if filters.active else None
    if parsed.filters.active and within is not None and not len(within):
        # A date or place read out of the query may narrow a search, never empty it: nothing was
        # taken then or there, so the words are searched as written and places only rank.
        parsed = _as_written(text, parsed)
        filters = options.filters
        within = filters.photo_set(store) if filters.active else None
    # Each alternative's words, without the dates, places and people read out of the whole query.
    branches = [parsed.text] if len(logic.branches) <= 1 else _branch_words(logic, options, names)
    query = ChannelQuery.from_text(" ".join(branches), within, parsed.mentioned, filters.people)
    return Plan(logic, parsed, filters, within, branches, query)


@dataclass
class Ranked:
    """Every channel's ranking (per alternative, and merged), and the channels that could not answer."""

    asked: list[str]  # the alternatives that have words
    per_branch: list[dict[str, list[Hit]]]
    rankings: dict[str, list[Hit]]
    unavailable: dict[str, str]


def rank(
    store: Store, channels: Sequence[Channel], plan: Plan, settings: SearchSettings, options: SearchOptions
) -> Ranked:
    """Ask every channel for its ranking of each alternative's words; with several alternatives a
    photo keeps its best place in any of them."""
    asked = [words for words in plan.branches if words]
    unavailable: dict[str, str] = {}
    if not asked:
        return Ranked(asked, [], {}, unavailable)
    depth = max(settings.candidates, options.offset + options.limit)
    # One alternative is the plan's query itself: what channels find for their highlights stays on
    # the query the page is described with; several each get theirs, gathered onto it after.
    queries = (
        [plan.query]
        if len(asked) == 1
        else [ChannelQuery.from_text(words, plan.within, plan.parsed.mentioned, plan.filters.people) for words in asked]
    )
    per_branch = [_rankings(channels, one, store, depth, unavailable) for one in queries]
    if len(queries) > 1:
        for one in queries:
            plan.query.found.update(one.found)
    rankings = per_branch[0] if len(per_branch) == 1 else _any_of(per_branch, depth)
    return Ranked(asked, per_branch, rankings, unavailable)


@dataclass(frozen=True)
class Fusion:
    """The fused ranking above the cut-off, in the order it will be shown, with how many were cut
    and how each channel was weighed for this query."""

    hits: list[FusedHit]
    sort: str
    cut: int = 0
    cutoff: float = 0.0
    weighing: dict[str, Weighing] = field(default_factory=dict)
    config: FusionConfig | None = None


def fused_ranking(
    store: Store,
    channels: Sequence[Channel],
    plan: Plan,
    ranked: Ranked,
    settings: SearchSettings,
    options: SearchOptions,
) -> Fusion:
    """One ranking from the channels' (and the order it will be shown in), without the results
    below the relevance cut-off unless all were asked for; with no words, every photo the filters
    allow, newest first (or oldest)."""
    sort = sort_order(options.sort)
    if ranked.asked:
        calibration = calibration_for(settings.calibration)
        config = FusionConfig.of(settings, channels, calibration=calibration)
        fused = config.fused(ranked.rankings, japanese=guess_language(plan.query.text) == "ja")
        suited = fused.calibration
        cutoff = _cutoff(settings, suited.cutoff) if suited is not None and not options.everything else 0.0
        floor = max(options.min_score, cutoff)
        kept = [hit for hit in fused.hits if hit.relevance >= floor]
        weighing = {name: w for name, w in fused.weighing.items() if ranked.rankings.get(name)}
        return Fusion(kept, sort, len(fused.hits) - len(kept), floor, weighing, config)
    if plan.within is not None or plan.logic.excluded:  # only filters (or exclusions): browsing
        allowed = plan.within.ids() if plan.within is not None else sorted(store.photo_ids())
        return Fusion([FusedHit(pid, 0.0) for pid in allowed], "oldest" if sort == "oldest" else "newest")
    return Fusion([], sort)


def _cutoff(settings: SearchSettings, calibrated: float) -> float:
    """The relevance below which results are hidden: configured, else the calibration's."""
    return calibrated if settings.cutoff < 0 else settings.cutoff


def leave_out_excluded(
    store: Store,
    channels: Sequence[Channel],
    plan: Plan,
    ranked: Ranked,
    fused: list[FusedHit],
    settings: SearchSettings,
) -> tuple[list[FusedHit], list[Removal]]:
    """Take out the photos each excluded term ("-dog") is judged to show, and say how many."""
    removed = removals(
        store, channels, plan.logic.excluded, {hit.photo_id for hit in fused}, ranked.rankings, settings.exclude_margin
    )
    if not removed:
        return fused, removed
    gone = {photo_id for removal in removed for photo_id in removal.by}
    return [hit for hit in fused if hit.photo_id not in gone], removed


def order(store: Store, fused: list[FusedHit], sort: str) -> list[FusedHit]:
    """The hits in the order asked for: by relevance as fused, or by the date taken."""
    sort = sort_order(sort)
    return fused if sort == "relevance" else _by_date(store, fused, newest=sort == "newest")


def _branch_words(logic: QueryLogic, options: SearchOptions, names: Sequence[str]) -> list[str]:
    """Each alternative's own words (its dates, places and people apply to the whole query)."""
    return [parse_query(branch, today=options.today, names=names).text for branch in logic.branches]


def _rankings(
    channels: Sequence[Channel], query: ChannelQuery, store: Store, depth: int, unavailable: dict[str, str]
) -> dict[str, list[Hit]]:
    """Every channel's ranking for one query; a channel that cannot answer is noted, not fatal."""
    rankings: dict[str, list[Hit]] = {}
    for channel in channels:
        try:
            rankings[channel.name] = channel.search(query, store, depth)
        except ModelUnavailable as exc:  # the other channels still answer
            unavailable[channel.name] = str(exc)
        except StoreError:
            raise  # the library itself: one clear error for the whole search
        except Exception as exc:
            unavailable[channel.name] = f"failed: {type(exc).__name__}: {exc}"
    return rankings


def _found_by(
    branches: list[str], per_branch: list[dict[str, list[Hit]]], channels: Sequence[Channel], shown: set[str]
) -> dict[str, list[str]]:
    """Which alternatives found each photo: those whose words a keyword channel found in it, and
    the one a meaning channel finds it most like (vectors rank every photo for every alternative)."""
    words = {channel.name for channel in channels if channel.matches_words}
    found: dict[str, set[int]] = {}
    likeness: dict[tuple[str, str], tuple[float, int]] = {}  # (photo, channel) -> best score, branch
    for n, ranked in enumerate(per_branch):
        for name, hits in ranked.items():
            for hit in hits:
                if hit.photo_id not in shown:
                    continue
                if name in words:
                    found.setdefault(hit.photo_id, set()).add(n)
                elif hit.score > likeness.get((hit.photo_id, name), (float("-inf"), -1))[0]:
                    likeness[(hit.photo_id, name)] = (hit.score, n)
    for (photo_id, _), (_, n) in likeness.items():
        found.setdefault(photo_id, set()).add(n)
    return {photo_id: [branches[n] for n in sorted(ns)] for photo_id, ns in found.items()}


def _any_of(per_branch: list[dict[str, list[Hit]]], depth: int) -> dict[str, list[Hit]]:
    """One ranking per channel from the alternatives' rankings: a photo at its best place in any
    of them (first of "cat" and first of "kitten" share the top), so either can admit it."""
    merged: dict[str, list[Hit]] = {}
    for name in dict.fromkeys(name for ranked in per_branch for name in ranked):
        best: dict[str, tuple[int, Hit]] = {}
        for ranked in per_branch:
            for place, hit in enumerate(ranked.get(name, [])):
                if hit.photo_id not in best or place < best[hit.photo_id][0]:
                    best[hit.photo_id] = (place, hit)
        order = sorted(best.values(), key=lambda entry: (entry[0], -entry[1].score))
        merged[name] = [hit for _, hit in order[:depth]]  # as many candidates as one query's: fusion costs the same
    return merged


def _as_written(text: str, parsed: ParsedQuery) -> ParsedQuery:
    """The query searched word for word, its places ranking instead of filtering, and why."""
    places = tuple(near.place for near in parsed.filters.near)
    read = "; ".join(parsed.understood) or "dates and places"
    note = f"{read}: no photo was taken then or there, so the words are searched as written" + (
        " and the places only rank" if places else ""
    )
    return ParsedQuery(text.strip(), Filters(), parsed.mentioned + places, (note,))


def respond(
    store: Store,
    channels: Sequence[Channel],
    query: ChannelQuery,
    rankings: dict[str, list[Hit]],
    settings: SearchSettings,
    *,
    limit: int,
    offset: int,
) -> SearchResponse:
    """Fuse rankings made outside search_photos (photo-to-photo search) and describe one page."""
    blas_threads(settings.blas_threads)
    fused = fuse_rankings(rankings, k=settings.rrf_k, weights=settings.weights, mode=settings.fusion)
    results = describe(store, channels, query, fused[offset : offset + limit], offset)
    return SearchResponse(
        query.text,
        results,
        len(fused),
        offset,
        searched=query.text,
        hits=rankings,
        ranking=[hit.photo_id for hit in fused],
    )


def describe(
    store: Store, channels: Sequence[Channel], query: ChannelQuery, page: list[FusedHit], offset: int
) -> list[SearchResult]:
    """The page's photos with their files, dates, places and each channel's highlights."""
    ids = [hit.photo_id for hit in page]
    shown = ResultPage(ids, store.file_rows_for(ids, from_memory=True), store.get_photos(ids, from_memory=True))
    highlights: dict[str, list[Snippet]] = {}
    for channel in channels:
        for photo_id, found in channel.highlights(query, store, shown).items():
            highlights.setdefault(photo_id, []).extend(snippet(h) for h in found)
    places = places_in(store.photo_facts(), ids)
    results: list[SearchResult] = []
    for position, hit in enumerate(page, start=offset + 1):
        paths = [row.path for row in shown.files.get(hit.photo_id, [])]
        if not paths:
            continue  # removed between ranking and display
        photo = shown.photos.get(hit.photo_id, {})
        results.append(
            SearchResult(
                position,
                hit.photo_id,
                paths[0],
                hit.score,
                hit.channels,
                highlights.get(hit.photo_id, []),
                paths[1:],
                hit.relevance,
                photo.get("taken_at"),
                places.get(hit.photo_id),
            )
        )
    return results


def _by_date(store: Store, fused: list[FusedHit], *, newest: bool) -> list[FusedHit]:
    """Fused hits by the date taken (photos without a date last), relevance breaking ties."""
    if not fused:
        return fused
    facts = store.photo_facts()
    positions, _ = facts.positions([hit.photo_id for hit in fused])
    taken = facts.taken_at[positions].astype(np.int64)
    unknown = np.isnat(facts.taken_at[positions])
    key = np.where(unknown, np.iinfo(np.int64).max, -taken if newest else taken)
    order = np.lexsort((np.arange(len(fused)), key))
    return [fused[i] for i in order]


__all__ = [
    "SORTS",
    "Fusion",
    "Plan",
    "Ranked",
    "SearchOptions",
    "SearchResponse",
    "SearchResult",
    "describe",
    "fused_ranking",
    "leave_out_excluded",
    "make_plan",
    "order",
    "rank",
    "respond",
    "search_photos",
]
