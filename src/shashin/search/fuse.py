"""Reciprocal rank fusion: one ranking from several, by rank rather than by incomparable scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shashin.channels.base import Hit


@dataclass(frozen=True)
class ChannelMatch:
    """Where one channel placed a photo: 1-based rank and the channel's own score."""

    rank: int
    score: float


@dataclass(frozen=True)
class FusedHit:
    """A photo in the fused ranking, with each channel's placement."""

    photo_id: str
    score: float
    channels: dict[str, ChannelMatch] = field(default_factory=dict)


def fuse_rankings(
    rankings: Mapping[str, Sequence[Hit]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> list[FusedHit]:
    """Fuse channel rankings: score = sum of weight / (k + rank) over the channels that found a photo.

    A channel that did not find a photo adds nothing, so it never pushes that photo down.
    Ties go to the photo found by more channels, then the better single rank, then the id.
    """
    weights = weights or {}
    scores: dict[str, float] = {}
    matches: dict[str, dict[str, ChannelMatch]] = {}
    for channel, hits in rankings.items():
        weight = weights.get(channel, 1.0)
        if weight <= 0:
            continue
        for rank, hit in enumerate(hits, start=1):
            if channel in matches.get(hit.photo_id, {}):
                continue  # a channel counts once per photo
            scores[hit.photo_id] = scores.get(hit.photo_id, 0.0) + weight / (k + rank)
            matches.setdefault(hit.photo_id, {})[channel] = ChannelMatch(rank, hit.score)

    def order(photo_id: str) -> tuple[float, int, int, str]:
        found = matches[photo_id]
        return (-scores[photo_id], -len(found), min(m.rank for m in found.values()), photo_id)

    return [FusedHit(pid, scores[pid], matches[pid]) for pid in sorted(scores, key=order)]
