"""Fusion: one ranking from several channels, with each photo's placement in each kept to explain it.

Two ways, both additive, so a channel without an opinion about a photo never pushes it down:

- score fusion (the default): each channel adds weight × its score normalized to 0–1 for this
  query (min–max over the photos it returned; keyword channels also × the share of the query a
  photo matched). Scores say how much better the first photo is than the tenth, which ranks throw
  away: measured on two development sets, rank fusion fell below its best channel (caption
  meaning) while score fusion beats it (docs/benchmarks.md, search quality). Keyword channels weigh 0.2 of a
  meaning channel by default, chosen by cross-validation there.
- reciprocal rank fusion (`search.fusion = "rrf"`): each channel adds weight × quality / (k + rank).

In both, a keyword hit counts by its quality: the share of the query it matched, kept
non-increasing down each ranking so that fusion never reorders a channel's own ranking. Quality is the share of the
query a keyword hit matched (a sign holding "man" of "man walking airport" counts a third), kept
non-increasing down each ranking so that fusion never reorders one channel's own ranking; it
stops incidental words in photos from outvoting a channel that matched the whole meaning
(measured on coco-cc76: see docs/benchmarks.md). On top of that, exact word matches are
protected: a photo found only by meaning (image or caption vectors) never ranks above a photo in
which a keyword channel found every word of the query, so "Car" shows the sign saying CAR
before pictures of cards that merely look close.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from shashin.channels.base import Channel, Hit
from shashin.config import SearchSettings


class ChannelMatch(NamedTuple):
    """Where one channel placed a photo: 1-based rank, the channel's own score, whether exact,
    and the share of the query it matched."""

    rank: int
    score: float
    exact: bool = False
    quality: float = 1.0


class FusedHit(NamedTuple):
    """A photo in the fused ranking, with each channel's placement. `score` is the fused score;
    `relevance` the same scaled to [0, 1], where 1 means first in every channel that answered."""

    photo_id: str
    score: float
    channels: dict[str, ChannelMatch] = {}  # noqa: RUF012 (never mutated)
    relevance: float = 0.0

    @property
    def exact(self) -> bool:
        return any(m.exact for m in self.channels.values())


FUSIONS = ("score", "rrf")
WORD_WEIGHT = 0.2  # score fusion: a keyword channel's default weight, a meaning channel's being 1
_FLOOR = 0.05  # score fusion: the last photo a channel returned still counts a little (it was found)


def fuse_rankings(
    rankings: Mapping[str, Sequence[Hit]],
    *,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    word_channels: Collection[str] = (),
    mode: str = "rrf",
) -> list[FusedHit]:
    """Fuse channel rankings. "rrf": score = Σ weight × quality / (k + rank); "score": Σ weight ×
    quality × normalized score (see the module docstring), over the channels that found a photo.

    Ties go to the photo found by more channels, then the better single rank, then the id. Photos
    found only by channels outside `word_channels` are then moved below the last exact match.
    """
    weights = weights or {}
    words = set(word_channels)
    scores: dict[str, float] = {}
    matches: dict[str, dict[str, ChannelMatch]] = {}
    best_rank: dict[str, int] = {}
    exact: set[str] = set()
    worded: set[str] = set()  # found by a keyword channel
    best_possible = 0.0
    for channel, hits in rankings.items():
        weight = weights.get(channel, 1.0)
        if weight <= 0 or not hits:
            continue
        best, share = _shares(hits, k, mode)
        best_possible += weight * best
        quality = 1.0
        is_words = channel in words
        for rank, hit in enumerate(hits, start=1):
            photo_id = hit.photo_id
            found = matches.setdefault(photo_id, {})
            if channel in found:
                continue  # a channel counts once per photo
            quality = min(quality, max(hit.quality, 0.0))  # never more than a better-ranked hit's
            scores[photo_id] = scores.get(photo_id, 0.0) + weight * quality * share(rank, hit)
            found[channel] = ChannelMatch(rank, hit.score, hit.exact, hit.quality)
            best_rank[photo_id] = min(best_rank.get(photo_id, rank), rank)
            if hit.exact:
                exact.add(photo_id)
            if is_words:
                worded.add(photo_id)

    ordered = sorted(scores, key=lambda pid: (-scores[pid], -len(matches[pid]), best_rank[pid], pid))
    if words and exact:
        ordered = _exact_first(ordered, exact, worded)
    return [
        FusedHit(pid, scores[pid], matches[pid], scores[pid] / best_possible if best_possible else 0.0)
        for pid in ordered
    ]


def _shares(hits: Sequence[Hit], k: int, mode: str) -> tuple[float, Callable[[int, Hit], float]]:
    """What a hit of this ranking adds before weight and quality, and the most it can add."""
    if mode != "score":
        return 1 / (k + 1), lambda rank, hit: 1 / (k + rank)
    high, low = max(hit.score for hit in hits), min(hit.score for hit in hits)
    spread = high - low
    return 1.0, lambda rank, hit: _FLOOR + (1 - _FLOOR) * ((hit.score - low) / spread if spread > 0 else 1.0)


def default_weight(channel: Channel) -> float:
    """A channel's weight in score fusion when none is configured."""
    if channel.fusion_weight is not None:
        return channel.fusion_weight
    return WORD_WEIGHT if channel.matches_words else 1.0


def _exact_first(ordered: list[str], exact: set[str], worded: set[str]) -> list[str]:
    """Move photos found only by meaning (no keyword channel) that rank above the last exact
    match to just below it."""
    last_exact = max(i for i, pid in enumerate(ordered) if pid in exact)
    head, tail = ordered[: last_exact + 1], ordered[last_exact + 1 :]
    return [p for p in head if p in worded] + [p for p in head if p not in worded] + tail


@dataclass(frozen=True)
class FusionConfig:
    """What fusion is given: the channels, their weights, k, and the keyword channels whose exact
    matches lead (none when exact_first is off). Search and evaluation fuse through this."""

    channels: tuple[str, ...]
    weights: dict[str, float]
    k: int
    word_channels: tuple[str, ...] = ()
    mode: str = "score"  # score | rrf
    defaults: dict[str, float] = field(
        default_factory=dict
    )  # score fusion: each channel's own weight (Channel.fusion_weight)

    @classmethod
    def of(
        cls, settings: SearchSettings, channels: Sequence[Channel], chosen: Sequence[str] | None = None
    ) -> FusionConfig:
        """The configured fusion of `channels` (or only those `chosen`)."""
        names = tuple(chosen) if chosen else tuple(c.name for c in channels)
        words = tuple(c.name for c in channels if c.matches_words and c.name in names) if settings.exact_first else ()
        defaults = {c.name: default_weight(c) for c in channels if c.name in names}
        return cls(names, dict(settings.weights), settings.rrf_k, words, settings.fusion, defaults)

    def weight(self, channel: str) -> float:
        """The weight a channel fuses with: configured, else its own in score fusion, else 1."""
        return self.weights.get(channel, self.defaults.get(channel, 1.0) if self.mode == "score" else 1.0)

    def fuse(self, hits: Mapping[str, Sequence[Hit]]) -> list[FusedHit]:
        """The fused ranking of the configured channels' hits."""
        chosen = {name: hits[name] for name in self.channels if name in hits}
        weights = {name: self.weight(name) for name in self.channels}
        return fuse_rankings(chosen, k=self.k, weights=weights, word_channels=self.word_channels, mode=self.mode)

    def ranking(self, hits: Mapping[str, Sequence[Hit]]) -> list[str]:
        """The fused ranking as photo ids, best first."""
        return [hit.photo_id for hit in self.fuse(hits)]
