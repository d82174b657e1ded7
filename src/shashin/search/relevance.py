"""Relevance that means the same across queries, and the cut-off below which results are not shown.

A photo's relevance is the probability that it is a true match, from each channel's raw evidence
rather than its place in this query's list (min–max made the first result 1.00 for any query,
"xylophone" on a library without one included):

- a meaning channel whose model is calibrated adds `per_unit` × its similarity (cosine on that
  model's own scale; Japanese queries have their own slope and offset, as a cross-lingual
  similarity runs lower);
- a meaning channel whose model is not (a model this project never measured) adds `standout` ×
  how far the photo stands above the channel's other scores for this query, in standard deviations;
- a keyword channel adds `coverage` × the share of the query's words it found;
- a photo in which a keyword channel found every word of the query is a match by rule: at least
  `exact_floor` (what "exact matches are protected" means for relevance).

The coefficients are a logistic model fitted on development queries, true matches and queries
that match nothing (bench/relevance.py; `shashin eval --tune` refits them on a library's own
queries). `cutoff` is the relevance below which results are hidden unless asked for (`--all`).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shashin.channels.base import ChannelEvidence, Evidence, Hit
from shashin.errors import UsageError

CALIBRATION_FILE = "calibration.json"
_MAX_STANDOUT = 6.0


@dataclass(frozen=True)
class Scale:
    """How one model's similarity reads as evidence: logit per unit of similarity, and for
    Japanese queries an extra slope and offset."""

    per_unit: float
    per_unit_ja: float = 0.0
    offset_ja: float = 0.0

    def logit(self, similarity: Any, japanese: bool) -> Any:
        """The evidence of a similarity, or of an array of them, in logit units."""
        if japanese:
            return (self.per_unit + self.per_unit_ja) * similarity + self.offset_ja
        return self.per_unit * similarity


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic model of "this photo is a true match" (see the module docstring)."""

    intercept: float
    coverage: float
    standout: float
    scales: dict[str, Scale] = field(default_factory=dict)
    cutoff: float = 0.0
    exact_floor: float = 0.5
    fitted_on: str = ""
    # The same fit with every meaning channel read by how far a photo stands out, for queries
    # answered by a model this calibration does not know (a SigLIP checkpoint never measured here).
    fallback: Calibration | None = None

    def suited(self, answering: Iterable[ChannelEvidence]) -> Calibration | None:
        """The calibration for a query the `answering` channels found photos for: this one when it
        knows every meaning channel's scale, its fallback when it does not; None when no meaning
        channel answered (words alone were never calibrated: relevance then is the fused score
        scaled, and nothing is cut)."""
        meaning = [kind for kind in answering if kind.kind == "meaning"]
        if not meaning:
            return None
        if not self.scales or all(kind.scale in self.scales for kind in meaning):
            return self  # (one without scales reads every meaning channel by how far a photo stands out)
        return self.fallback

    def evidence(self, channel: ChannelEvidence, hits: Sequence[Hit], japanese: bool) -> dict[str, float]:
        """Each photo's evidence from one channel's hits, in logit units."""
        if not hits or channel.kind == "support":
            return {}
        scores = np.fromiter((hit.score for hit in hits), np.float64, len(hits))
        quality = np.fromiter((hit.quality for hit in hits), np.float64, len(hits))
        values = self.evidence_values(channel, scores, quality, japanese)
        return dict(zip((hit.photo_id for hit in hits), values.tolist()))

    def evidence_values(
        self, channel: ChannelEvidence, scores: np.ndarray, quality: np.ndarray, japanese: bool
    ) -> np.ndarray:
        """The evidence of each of one channel's hits (given as its scores and qualities, best
        first), in logit units: what fusion adds up per photo."""
        if channel.kind == "support" or not len(scores):
            return np.zeros(len(scores))
        if channel.kind == "words":
            return self.coverage * np.maximum(quality, 0.0)
        scale = self.scales.get(channel.scale)
        if scale is not None:
            values: np.ndarray = scale.logit(scores, japanese)
            return values
        return self.standout * standout_values(scores)

    def probability(self, logit: float, exact: bool = False) -> float:
        """The relevance of a photo with this much evidence (at least exact_floor when exact)."""
        value = 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))
        return max(value, self.exact_floor) if exact else value

    def probabilities(self, logits: np.ndarray, exact: np.ndarray) -> np.ndarray:
        """probability() of many photos at once."""
        values = 1.0 / (1.0 + np.exp(-np.clip(logits, -40.0, 40.0)))
        return np.where(exact, np.maximum(values, self.exact_floor), values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        scales = {name: Scale(**values) for name, values in dict(data.get("scales", {})).items()}
        fallback = cls.from_dict(data["fallback"]) if data.get("fallback") else None
        return cls(**{**dict(data), "scales": scales, "fallback": fallback})

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        """A calibration file (as bench/relevance.py and `eval --tune` write it), or the shipped one."""
        text = (
            path.read_text(encoding="utf-8")
            if path is not None
            else resources.files("shashin.search").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
        )
        return cls.from_dict(json.loads(text))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def spread(scores: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The mean of a channel's scores for one query and their standard deviation."""
    values = np.asarray(scores, np.float64)
    return float(values.mean()), float(values.std())


def standout_values(scores: np.ndarray) -> np.ndarray:
    """How far each score stands above the channel's scores for this query, in standard
    deviations (0 at the mean or below; 0 for all when the scores do not vary)."""
    mean, deviation = spread(scores)
    if deviation <= 1e-12:
        return np.zeros(len(scores))
    return np.clip((scores - mean) / deviation, 0.0, _MAX_STANDOUT)


def standouts(hits: Sequence[Hit]) -> list[float]:
    """standout_values() of a channel's hits."""
    values: list[float] = standout_values(np.fromiter((hit.score for hit in hits), np.float64, len(hits))).tolist()
    return values


def evidence_of(name: str, evidence: Mapping[str, ChannelEvidence] | None, words: Collection[str]) -> ChannelEvidence:
    """What a channel's hits say of a match: as declared (Channel.evidence()), else words for a
    keyword channel and meaning for any other."""
    known = (evidence or {}).get(name)
    return known if known is not None else ChannelEvidence("words" if name in words else "meaning")


@functools.lru_cache(maxsize=8)
def _loaded(path: str, stamp: float) -> Calibration:
    try:
        return Calibration.load(Path(path) if path else None)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"search.calibration: cannot read {path}: {exc}") from None


def calibration_for(path: str = "") -> Calibration:
    """The calibration in `path` (read again when the file changes), or the one shashin ships
    (fitted on the development sets; docs/searching.md) when path is empty."""
    if not path:
        return _loaded("", 0.0)
    file = Path(path).expanduser()
    try:
        stamp = file.stat().st_mtime
    except OSError as exc:
        raise UsageError(f"search.calibration: cannot read {file}: {exc.strerror or exc}") from None
    return _loaded(str(file), stamp)


__all__ = [
    "Calibration",
    "ChannelEvidence",
    "Evidence",
    "Scale",
    "calibration_for",
    "evidence_of",
    "spread",
    "standouts",
]
