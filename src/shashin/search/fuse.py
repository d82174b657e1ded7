"""Fusion: one ranking from several channels, with each photo's placement in each kept to explain it.

Two ways, both additive, so a channel without an opinion about a photo never pushes it down:

- score fusion (the default): each channel adds weight × its score normalized to 0–1 for this
  query (min–max over the photos it returned; keyword channels also × the share of the query a
  photo matched). Scores say how much better the first photo is than the tenth, which ranks throw
  away: measured on two development sets, rank fusion fell below its best channel (caption
  meaning) while score fusion beats it (docs/benchmarks.md, search quality). Keyword channels weigh 0.2 of a
  meaning channel by default, chosen by cross-validation there.
- reciprocal rank fusion (`search.fusion = "rrf"`): each channel adds weight × quality / (k + rank).

Each channel's weight is set per query from its own evidence (`weigh`): a meaning channel whose
first photo stands well above its second counts more, and a keyword channel counts more as its
first hit holds more of the query and stands further above the next ("caption keywords weighed
up ×3.4: every word matched, 80 % above the next"). A channel sure of its answer leads; one that
is unsure leaves the ranking to the others. The strength (`search.adapt_meaning`,
`search.adapt_words`) is chosen on development sets and by `shashin eval --tune`.

A keyword hit counts by its quality: the share of the query it matched (a sign holding "man" of
"man walking airport" counts a third), kept non-increasing down each ranking so that fusion never
reorders one channel's own ranking; it stops incidental words in photos from outvoting a channel
that matched the whole meaning (measured on coco-cc76: see docs/benchmarks.md). On top of that,
exact word matches are protected: a photo found only by meaning (image or caption vectors) never
ranks above a photo in which a keyword channel found every word of the query, so "Car" shows the
sign saying CAR before pictures of cards that merely look close.

Relevance is separate from the ranking's score: a calibrated probability of a true match from
the channels' raw evidence (search.relevance), the same scale for every query.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from shashin.channels.base import Channel, Hit
from shashin.config import SearchSettings
from shashin.search.relevance import Calibration, ChannelEvidence, evidence_of, spread


class ChannelMatch(NamedTuple):
    """Where one channel placed a photo: 1-based rank, the channel's own score, whether exact,
    the share of the query it matched, and its evidence for relevance (logit units)."""

    rank: int
    score: float
    exact: bool = False
    quality: float = 1.0
    evidence: float = 0.0


class FusedHit:
    """A photo in the fused ranking, with each channel's placement. `score` is the fused score;
    `relevance` how likely it is a true match (calibrated), or without a calibration the score
    scaled to [0, 1], where 1 means first in every channel that answered. The placements are
    read from the fusion's arrays when asked for (most hits of a ranking are never shown)."""

    __slots__ = ("_channels", "_placed", "photo_id", "relevance", "score")

    def __init__(
        self,
        photo_id: str,
        score: float,
        channels: dict[str, ChannelMatch] | None = None,
        relevance: float = 0.0,
        placed: tuple[_Placements, int] | None = None,
    ) -> None:
        self.photo_id, self.score, self.relevance = photo_id, score, relevance
        self._channels, self._placed = channels, placed

    @property
    def channels(self) -> dict[str, ChannelMatch]:
        if self._channels is None:
            self._channels = self._placed[0].matches(self._placed[1]) if self._placed is not None else {}
        return self._channels

    @property
    def exact(self) -> bool:
        if self._channels is None and self._placed is not None:
            return bool(self._placed[0].exact[self._placed[1]])
        return any(m.exact for m in self.channels.values())

    def __repr__(self) -> str:
        return f"FusedHit({self.photo_id!r}, {self.score:.6g}, relevance={self.relevance:.4g})"


class _Placements:
    """Where each channel placed each photo of one fusion (arrays over the photos' numbers), so
    a photo's ChannelMatch values are made only for the photos explained."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.parts: list[tuple[str, np.ndarray, Sequence[Hit], np.ndarray]] = []  # name, photos, hits, evidence
        self.exact = np.zeros(size, bool)
        self._slots: list[tuple[str, np.ndarray, Sequence[Hit], np.ndarray]] | None = None

    def matches(self, at: int) -> dict[str, ChannelMatch]:
        if self._slots is None:
            self._slots = []
            for name, photos, hits, proof in self.parts:
                slot = np.full(self.size, -1, np.int64)
                slot[photos[::-1]] = np.arange(len(photos))[::-1]  # a photo's first hit in the channel
                self._slots.append((name, slot, hits, proof))
        found: dict[str, ChannelMatch] = {}
        for name, slot, hits, proof in self._slots:
            i = int(slot[at])
            if i >= 0:
                hit = hits[i]
                found[name] = ChannelMatch(i + 1, hit.score, hit.exact, hit.quality, float(proof[i]))
        return found


FUSIONS = ("score", "rrf")
WORD_WEIGHT = 0.2  # score fusion: a keyword channel's default weight, a meaning channel's being 1
_FLOOR = 0.05  # score fusion: the last photo a channel returned still counts a little (it was found)


@dataclass(frozen=True)
class Weighing:
    """A channel's weight for one query: its configured weight × how sure it is of this query, and why."""

    base: float
    factor: float = 1.0
    why: str = ""

    @property
    def weight(self) -> float:
        return self.base * self.factor

    def to_dict(self) -> dict[str, float | str]:
        return {"weight": round(self.weight, 4), "base": self.base, "factor": round(self.factor, 4), "why": self.why}


@dataclass(frozen=True)
class Adapt:
    """How strongly each kind of channel's weight follows its confidence on the query (0: fixed weights)."""

    meaning: float = 0.0
    words: float = 0.0


_MAX_MARGIN = 3.0  # a meaning channel's margin counts up to this many standard deviations


def weigh(channel: str, hits: Sequence[Hit], base: float, kind: str, adapt: Adapt) -> Weighing:
    """A channel's weight for this query from its own evidence: for a meaning channel how far its
    first photo stands above its second (in standard deviations of its scores), for a keyword
    channel how much of the query its first hit holds × how far it stands above the next."""
    if len(hits) < 2 or base <= 0:
        return Weighing(base)
    first, second = hits[0].score, hits[1].score
    if kind == "meaning" and adapt.meaning:
        _, deviation = spread(np.fromiter((hit.score for hit in hits), np.float64, len(hits)))
        margin = min(max((first - second) / deviation, 0.0), _MAX_MARGIN) if deviation > 0 else 0.0
        return Weighing(base, 1 + adapt.meaning * margin, f"its first stands {margin:.1f}σ above its second")
    if kind == "words" and adapt.words and first > 0:
        held = max(min(hits[0].quality, 1.0), 0.0)
        gap = max(first - second, 0.0) / first
        share = "every word of the query" if held >= 0.999 else f"{held:.0%} of the query"
        return Weighing(base, 1 + adapt.words * held * gap, f"its first holds {share}, {gap:.0%} above the next")
    return Weighing(base)


def fuse_rankings(
    rankings: Mapping[str, Sequence[Hit]],
    *,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    word_channels: Collection[str] = (),
    mode: str = "rrf",
    weighings: Mapping[str, Weighing] | None = None,
    calibration: Calibration | None = None,
    evidence: Mapping[str, ChannelEvidence] | None = None,
    japanese: bool = False,
    evidence_weight: float = 0.0,
) -> list[FusedHit]:
    """Fuse channel rankings. "rrf": score = Σ weight × quality / (k + rank); "score": Σ weight ×
    quality × normalized score (see the module docstring), over the channels that found a photo.
    `weighings` (per query, from weigh()) override `weights`. With a calibration (one suited to
    the channels that answered: Calibration.suited), each photo's relevance is its probability
    of being a true match from the channels' `evidence`, and `evidence_weight` × that evidence
    (in logit units, below the best photo's) joins the fused score.

    Ties go to the photo found by more channels, then the better single rank, then the id. Photos
    found only by channels outside `word_channels` are then moved below the last exact match.
    """
    weights = weights or {}
    words = set(word_channels)
    numbers: dict[str, int] = {}  # photo id -> its number in the arrays below
    parts: list[tuple[str, float, Sequence[Hit], np.ndarray]] = []
    for channel, hits in rankings.items():
        weight = weighings[channel].weight if weighings and channel in weighings else weights.get(channel, 1.0)
        if weight <= 0 or not hits:
            continue
        photos = np.fromiter((numbers.setdefault(hit.photo_id, len(numbers)) for hit in hits), np.int64, len(hits))
        parts.append((channel, weight, hits, photos))
    size = len(numbers)
    if not size:
        return []
    scores, logits = np.zeros(size), np.zeros(size)
    found_by = np.zeros(size, np.int64)  # how many channels found each photo
    best_rank = np.full(size, np.iinfo(np.int64).max)
    worded = np.zeros(size, bool)  # found by a keyword channel
    placements = _Placements(size)
    best_possible = 0.0
    for channel, weight, hits, numbered in parts:
        photos = numbered
        _, score, exact, quality = (np.asarray(column) for column in zip(*hits))
        score, quality = score.astype(np.float64), quality.astype(np.float64)
        ranks = np.arange(1, len(hits) + 1)
        first = _first_of_each(photos)  # a channel counts once per photo
        best, shares = _shares(score, ranks, k, mode)
        best_possible += weight * best
        proof = (
            calibration.evidence_values(evidence_of(channel, evidence, words), score, quality, japanese)
            if calibration is not None
            else np.zeros(len(hits))
        )
        placements.parts.append((channel, numbered, hits, proof))
        if first is not None:
            photos, shares, quality, proof, ranks, exact = (
                a[first] for a in (photos, shares, quality, proof, ranks, exact)
            )
        # never more than a better-ranked hit's quality: fusion keeps each channel's own order
        quality = np.minimum.accumulate(np.maximum(quality, 0.0))
        scores[photos] += weight * quality * shares
        logits[photos] += proof
        found_by[photos] += 1
        best_rank[photos] = np.minimum(best_rank[photos], ranks)
        placements.exact[photos] |= exact.astype(bool)
        if channel in words:
            worded[photos] = True

    if calibration is not None and evidence_weight > 0:
        # The calibrated evidence joins the ranking too: it reads each channel on its model's own
        # scale (a Japanese query's lower cross-lingual similarities included), where min–max does not.
        scores = scores + evidence_weight * (logits - logits.max())
    ids = np.array(list(numbers))
    ordered = np.lexsort((ids, best_rank, -found_by, -scores))
    if words and placements.exact.any():
        ordered = _exact_first(ordered, placements.exact, worded)
    if calibration is not None:
        relevance = calibration.probabilities(calibration.intercept + logits, placements.exact)
    else:
        relevance = scores / best_possible if best_possible else np.zeros(size)
    order = ordered.tolist()
    return [
        FusedHit(pid, score, None, value, (placements, at))
        for pid, score, value, at in zip(
            ids[ordered].tolist(), scores[ordered].tolist(), relevance[ordered].tolist(), order
        )
    ]


def _first_of_each(photos: np.ndarray) -> np.ndarray | None:
    """Positions of each photo's first hit in one channel's ranking, in order (None: no photo repeats)."""
    unique, first = np.unique(photos, return_index=True)
    return None if len(unique) == len(photos) else np.sort(first)


def _shares(score: np.ndarray, ranks: np.ndarray, k: int, mode: str) -> tuple[float, np.ndarray]:
    """What each hit of a ranking adds before weight and quality, and the most a hit can add."""
    if mode != "score":
        return 1 / (k + 1), 1 / (k + ranks)
    high, low = float(score.max()), float(score.min())
    spread = high - low
    if spread <= 0:
        return 1.0, np.full(len(score), _FLOOR + (1 - _FLOOR) * 1.0)
    return 1.0, _FLOOR + (1 - _FLOOR) * ((score - low) / spread)


def default_weight(channel: Channel) -> float:
    """A channel's weight in score fusion when none is configured."""
    if channel.fusion_weight is not None:
        return channel.fusion_weight
    return WORD_WEIGHT if channel.matches_words else 1.0


def _exact_first(ordered: np.ndarray, exact: np.ndarray, worded: np.ndarray) -> np.ndarray:
    """Move photos found only by meaning (no keyword channel) that rank above the last exact
    match to just below it."""
    last_exact = int(np.flatnonzero(exact[ordered]).max())
    head, tail = ordered[: last_exact + 1], ordered[last_exact + 1 :]
    by_words = worded[head]
    return np.concatenate([head[by_words], head[~by_words], tail])


@dataclass(frozen=True)
class Fused:
    """A fused ranking, each channel's weighing for the query, and the calibration relevance was
    read with (None: none suited the channels that answered, and nothing may be cut)."""

    hits: list[FusedHit]
    weighing: dict[str, Weighing]
    calibration: Calibration | None


@dataclass(frozen=True)
class FusionConfig:
    """What fusion is given: the channels, their weights, k, the keyword channels whose exact
    matches lead (none when exact_first is off), how weights adapt to each query, and the
    calibration relevance is read with. Search and evaluation fuse through this."""

    channels: tuple[str, ...]
    weights: dict[str, float]
    k: int
    word_channels: tuple[str, ...] = ()
    mode: str = "score"  # score | rrf
    defaults: dict[str, float] = field(
        default_factory=dict
    )  # score fusion: each channel's own weight (Channel.fusion_weight)
    adapt: Adapt = field(default_factory=Adapt)
    evidence: dict[str, ChannelEvidence] = field(default_factory=dict)
    calibration: Calibration | None = None
    evidence_weight: float = 0.0  # per logit unit of calibrated evidence, added to the fused score

    @classmethod
    def of(
        cls,
        settings: SearchSettings,
        channels: Sequence[Channel],
        chosen: Sequence[str] | None = None,
        calibration: Calibration | None = None,
    ) -> FusionConfig:
        """The configured fusion of `channels` (or only those `chosen`)."""
        names = tuple(chosen) if chosen else tuple(c.name for c in channels)
        words = tuple(c.name for c in channels if c.matches_words and c.name in names) if settings.exact_first else ()
        defaults = {c.name: default_weight(c) for c in channels if c.name in names}
        evidence = {c.name: c.evidence() for c in channels if c.name in names}
        adapt = Adapt(settings.adapt_meaning, settings.adapt_words)
        return cls(
            names,
            dict(settings.weights),
            settings.rrf_k,
            words,
            settings.fusion,
            defaults,
            adapt,
            evidence,
            calibration,
            settings.evidence_weight,
        )

    def weight(self, channel: str) -> float:
        """The weight a channel fuses with: configured, else its own in score fusion, else 1."""
        return self.weights.get(channel, self.defaults.get(channel, 1.0) if self.mode == "score" else 1.0)

    def weighings(self, hits: Mapping[str, Sequence[Hit]]) -> dict[str, Weighing]:
        """Each configured channel's weight for this query (see weigh())."""
        return {
            name: weigh(name, hits.get(name, ()), self.weight(name), self._kind(name), self.adapt)
            for name in self.channels
        }

    def _kind(self, name: str) -> str:
        return evidence_of(name, self.evidence, self.word_channels).kind

    def calibrated(self, hits: Mapping[str, Sequence[Hit]]) -> Calibration | None:
        """The calibration relevance is read with for these hits (None: none suits them)."""
        if self.calibration is None:
            return None
        return self.calibration.suited(
            self.evidence[name] for name in self.channels if hits.get(name) and name in self.evidence
        )

    def fused(self, hits: Mapping[str, Sequence[Hit]], japanese: bool = False) -> Fused:
        """The fused ranking of the configured channels' hits, with how each was weighed and the
        calibration its relevance was read with (worked out once, for the ranking and to explain it)."""
        chosen = {name: hits[name] for name in self.channels if name in hits}
        weighing, calibration = self.weighings(chosen), self.calibrated(chosen)
        ranking = fuse_rankings(
            chosen,
            k=self.k,
            word_channels=self.word_channels,
            mode=self.mode,
            weighings=weighing,
            calibration=calibration,
            evidence=self.evidence,
            japanese=japanese,
            evidence_weight=self.evidence_weight,
        )
        return Fused(ranking, weighing, calibration)

    def fuse(self, hits: Mapping[str, Sequence[Hit]], japanese: bool = False) -> list[FusedHit]:
        """The fused ranking of the configured channels' hits."""
        return self.fused(hits, japanese).hits

    def ranking(self, hits: Mapping[str, Sequence[Hit]], japanese: bool = False) -> list[str]:
        """The fused ranking as photo ids, best first."""
        return [hit.photo_id for hit in self.fuse(hits, japanese)]
