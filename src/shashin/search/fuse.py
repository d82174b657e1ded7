"""Reciprocal rank fusion: one ranking from several, by rank rather than by incomparable scores.

Each channel adds weight × quality / (k + rank) for the photos it found and nothing for the
others, so a channel without an opinion never pushes a photo down. Quality is the share of the
query a keyword hit matched (a sign holding "man" of "man walking airport" counts a third), kept
non-increasing down each ranking so that fusion never reorders one channel's own ranking; it
stops incidental words in photos from outvoting a channel that matched the whole meaning
(measured on coco-cc76: see README). On top of that, exact word matches are
protected: a photo found only by meaning (image or caption vectors) never ranks above a photo in
which a keyword channel found every word of the query, so "Car" shows the sign saying CAR
before pictures of cards that merely look close.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
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
    channels: dict[str, ChannelMatch] = {}  # never mutated
    relevance: float = 0.0

    @property
    def exact(self) -> bool:
        return any(m.exact for m in self.channels.values())


def fuse_rankings(
    rankings: Mapping[str, Sequence[Hit]],
    *,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    word_channels: Collection[str] = (),
) -> list[FusedHit]:
    """Fuse channel rankings: score = sum of weight × quality / (k + rank) over the channels that
    found a photo.

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
        best_possible += weight / (k + 1)
        quality = 1.0
        is_words = channel in words
        for rank, hit in enumerate(hits, start=1):
            photo_id = hit.photo_id
            found = matches.get(photo_id)
            if found is None:
                found = matches[photo_id] = {}
                best_rank[photo_id] = rank
            elif channel in found:
                continue  # a channel counts once per photo
            quality = min(quality, max(hit.quality, 0.0))  # never more than a better-ranked hit's
            scores[photo_id] = scores.get(photo_id, 0.0) + weight * quality / (k + rank)
            found[channel] = ChannelMatch(rank, hit.score, hit.exact, hit.quality)
            best_rank[photo_id] = min(best_rank[photo_id], rank)
            if hit.exact:
                exact.add(photo_id)
            if is_words:
                worded.add(photo_id)

    ordered = sorted(scores, key=lambda pid: (-scores[pid], -len(matches[pid]), best_rank[pid], pid))
    if words and exact:
        ordered = _exact_first(ordered, exact, worded)
    return [FusedHit(pid, scores[pid], matches[pid], scores[pid] / best_possible) for pid in ordered]


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

    @classmethod
    def of(cls, settings: SearchSettings, channels: Sequence[Channel], chosen: Sequence[str] | None = None) -> "FusionConfig":
        """The configured fusion of `channels` (or only those `chosen`)."""
        names = tuple(chosen) if chosen else tuple(c.name for c in channels)
        words = tuple(c.name for c in channels if c.matches_words and c.name in names) if settings.exact_first else ()
        return cls(names, dict(settings.weights), settings.rrf_k, words)

    def fuse(self, hits: Mapping[str, Sequence[Hit]]) -> list[FusedHit]:
        """The fused ranking of the configured channels' hits."""
        chosen = {name: hits[name] for name in self.channels if name in hits}
        return fuse_rankings(chosen, k=self.k, weights=self.weights, word_channels=self.word_channels)

    def ranking(self, hits: Mapping[str, Sequence[Hit]]) -> list[str]:
        """The fused ranking as photo ids, best first."""
        return [hit.photo_id for hit in self.fuse(hits)]
