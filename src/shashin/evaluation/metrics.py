"""Ranking metrics for one query, and their mean over queries with a bootstrap interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("mrr", "p@1", "r@1", "r@5", "r@10", "ndcg@10")


def reciprocal_rank(ranking: Sequence[str], relevant: set[str] | frozenset[str], depth: int | None = None) -> float:
    """1 / the rank of the first relevant photo (0 when none is within `depth`)."""
    for rank, photo_id in enumerate(ranking[:depth] if depth else ranking, start=1):
        if photo_id in relevant:
            return 1.0 / rank
    return 0.0


def recall_at(ranking: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """Share of the relevant photos found in the first k."""
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def precision_at_1(ranking: Sequence[str], relevant: set[str] | frozenset[str]) -> float:
    """1 when the first result is relevant (the category-hit measure)."""
    return 1.0 if ranking and ranking[0] in relevant else 0.0


def ndcg_at(ranking: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """Normalized discounted cumulative gain with binary relevance: 1 when every relevant photo
    (up to k of them) leads the ranking."""
    gain = sum(1.0 / math.log2(rank + 1) for rank, photo_id in enumerate(ranking[:k], start=1) if photo_id in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return gain / ideal if ideal else 0.0


def score_ranking(
    ranking: Sequence[str], relevant: set[str] | frozenset[str], depth: int | None = None
) -> dict[str, float]:
    """Every metric of METRICS for one ranking (`depth` truncates it first, e.g. 20 for categories)."""
    ranking = list(ranking[:depth]) if depth else list(ranking)
    return {
        "mrr": reciprocal_rank(ranking, relevant),
        "p@1": precision_at_1(ranking, relevant),
        "r@1": recall_at(ranking, relevant, 1),
        "r@5": recall_at(ranking, relevant, 5),
        "r@10": recall_at(ranking, relevant, 10),
        "ndcg@10": ndcg_at(ranking, relevant, 10),
    }


@dataclass(frozen=True)
class Estimate:
    """A mean over queries with its 95% bootstrap interval and the number of queries."""

    mean: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": round(self.mean, 4), "low": round(self.low, 4), "high": round(self.high, 4), "n": self.n}

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap(values: Sequence[float] | np.ndarray, *, resamples: int = 2000, seed: int = 0) -> Estimate:
    """The mean of `values` and the 2.5th-97.5th percentiles of means of resampled queries."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) == 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Estimate(float(data.mean()), float(low), float(high), len(data))


def paired_difference(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000, seed: int = 0) -> Estimate:
    """Mean of b − a over the same queries, with a bootstrap interval (does B beat A?)."""
    return bootstrap(np.asarray(b, np.float64) - np.asarray(a, np.float64), resamples=resamples, seed=seed)
