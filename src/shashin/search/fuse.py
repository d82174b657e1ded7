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
from dataclasses import dataclass, field

from shashin.channels.base import Hit


@dataclass(frozen=True)
class ChannelMatch:
    """Where one channel placed a photo: 1-based rank, the channel's own score, whether exact,
    and the share of the query it matched."""

    rank: int
    score: float
    exact: bool = False
    quality: float = 1.0


@dataclass(frozen=True)
class FusedHit:
    """A photo in the fused ranking, with each channel's placement. `score` is the fused score;
    `relevance` the same scaled to [0, 1], where 1 means first in every channel that answered."""

    photo_id: str
    score: float
    channels: dict[str, ChannelMatch] = field(default_factory=dict)
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
    scores: dict[str, float] = {}
    matches: dict[str, dict[str, ChannelMatch]] = {}
    best_possible = 0.0
    for channel, hits in rankings.items():
        weight = weights.get(channel, 1.0)
        if weight <= 0 or not hits:
            continue
        best_possible += weight / (k + 1)
        quality = 1.0
        for rank, hit in enumerate(hits, start=1):
            if channel in matches.get(hit.photo_id, {}):
                continue  # a channel counts once per photo
            quality = min(quality, max(hit.quality, 0.0))  # never more than a better-ranked hit's
            scores[hit.photo_id] = scores.get(hit.photo_id, 0.0) + weight * quality / (k + rank)
            matches.setdefault(hit.photo_id, {})[channel] = ChannelMatch(rank, hit.score, hit.exact, hit.quality)

    def order(photo_id: str) -> tuple[float, int, int, str]:
        found = matches[photo_id]
        return (-scores[photo_id], -len(found), min(m.rank for m in found.values()), photo_id)

    fused = [FusedHit(pid, scores[pid], matches[pid], scores[pid] / best_possible) for pid in sorted(scores, key=order)]
    return _exact_first(fused, set(word_channels)) if word_channels else fused


def _exact_first(fused: list[FusedHit], word_channels: set[str]) -> list[FusedHit]:
    """Move photos found only by meaning that rank above the last exact match to just below it."""
    last_exact = max((i for i, hit in enumerate(fused) if hit.exact), default=-1)
    if last_exact < 0:
        return fused
    head, tail = fused[: last_exact + 1], fused[last_exact + 1 :]
    kept = [hit for hit in head if not _meaning_only(hit, word_channels)]
    moved = [hit for hit in head if _meaning_only(hit, word_channels)]
    return kept + moved + tail


def _meaning_only(hit: FusedHit, word_channels: set[str]) -> bool:
    return not any(channel in word_channels for channel in hit.channels)
