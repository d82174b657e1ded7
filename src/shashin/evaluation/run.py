"""Running an evaluation: every query through the same search as users get, every ranking scored.

Each query keeps every channel's hits, so the fused ranking can be recomputed for other channel
sets, weights and k without searching again (what --channels and --tune do).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shashin.channels.base import Hit
from shashin.evaluation.metrics import METRICS, Estimate, bootstrap, score_ranking
from shashin.evaluation.queries import EvalQuery
from shashin.search.fuse import FusionConfig

FUSED = "fused"


@dataclass
class QueryResult:
    """One query: its channels' hits, every ranking's metrics, and how long it took."""

    query: EvalQuery
    hits: dict[str, list[Hit]]
    scores: dict[str, dict[str, float]]
    seconds: float
    unavailable: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        q = self.query
        return {
            "id": q.id,
            "query": q.text,
            "lang": q.lang,
            "protocol": q.protocol,
            "relevant": len(q.relevant),
            "scores": {name: {m: round(v, 4) for m, v in s.items()} for name, s in self.scores.items()},
            "ms": round(self.seconds * 1000, 1),
        }


@dataclass
class EvalRun:
    """Every query's result, the channels that answered, and the settings that produced them."""

    results: list[QueryResult]
    fusion: FusionConfig
    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # protocols skipped and why

    @property
    def names(self) -> list[str]:
        """The rankings scored: each channel that answered some query, then the fused one."""
        answered = {name for r in self.results for name, hits in r.hits.items() if hits}
        return [name for name in self.fusion.channels if name in answered] + [FUSED]

    def summary(self, *, by: Callable[[EvalQuery], str] | None = None) -> dict[str, dict[str, dict[str, Estimate]]]:
        """group → ranking → metric → estimate; one group "all" unless `by` names groups."""
        groups: dict[str, list[QueryResult]] = {}
        for result in self.results:
            groups.setdefault(by(result.query) if by else "all", []).append(result)
        return {
            group: {
                name: {metric: bootstrap([r.scores.get(name, _ZERO)[metric] for r in members]) for metric in METRICS}
                for name in self.names
            }
            for group, members in sorted(groups.items())
        }


_ZERO = dict.fromkeys(METRICS, 0.0)


def evaluate(
    queries: Sequence[EvalQuery],
    search: Callable[[EvalQuery], tuple[dict[str, list[Hit]], dict[str, str]]],
    fusion: FusionConfig,
    config: dict[str, Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> EvalRun:
    """Ask every query (`search` returns each channel's hits and the channels unavailable) and
    score each channel's ranking and the fused one."""
    results = []
    for number, query in enumerate(queries, start=1):
        started = time.perf_counter()
        hits, unavailable = search(query)
        seconds = time.perf_counter() - started
        scores = {
            name: score_ranking([h.photo_id for h in channel_hits], query.relevant, query.depth)
            for name, channel_hits in hits.items()
            if name in fusion.channels
        }
        scores[FUSED] = score_ranking(fusion.ranking(hits, query.lang == "ja"), query.relevant, query.depth)
        results.append(QueryResult(query, hits, scores, seconds, unavailable))
        if progress:
            progress(number)
    return EvalRun(results, fusion, {**config, "fusion": _fusion_dict(fusion)})


def _fusion_dict(fusion: FusionConfig) -> dict[str, Any]:
    return {
        "channels": list(fusion.channels),
        "mode": fusion.mode,
        "weights": {name: fusion.weight(name) for name in fusion.channels},
        "rrf_k": fusion.k,
        "exact_first": bool(fusion.word_channels),
    }
