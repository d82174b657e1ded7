import math

import pytest

from shashin.evaluation.metrics import (
    bootstrap,
    ndcg_at,
    paired_difference,
    precision_at_1,
    recall_at,
    reciprocal_rank,
    score_ranking,
)

RANKING = ["a", "b", "c", "d", "e"]


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(RANKING, {"a"}) == 1.0
    assert reciprocal_rank(RANKING, {"c", "e"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKING, {"z"}) == 0.0
    assert reciprocal_rank(RANKING, {"e"}, depth=4) == 0.0  # beyond the judged depth


def test_recall_and_precision() -> None:
    assert recall_at(RANKING, {"b", "d", "z"}, 1) == 0.0
    assert recall_at(RANKING, {"b", "d", "z"}, 2) == pytest.approx(1 / 3)
    assert recall_at(RANKING, {"b", "d", "z"}, 5) == pytest.approx(2 / 3)
    assert precision_at_1(RANKING, {"a", "z"}) == 1.0 and precision_at_1(RANKING, {"b"}) == 0.0


def test_ndcg_by_hand() -> None:
    # relevant b (rank 2) and d (rank 4): DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at(RANKING, {"b", "d"}, 10) == pytest.approx(expected)
    assert ndcg_at(RANKING, {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(RANKING, {"z"}, 10) == 0.0


def test_score_ranking_truncates_to_the_depth() -> None:
    scores = score_ranking(RANKING, {"e"}, depth=3)
    assert scores == {"mrr": 0.0, "p@1": 0.0, "r@1": 0.0, "r@5": 0.0, "r@10": 0.0, "ndcg@10": 0.0}


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_queries() -> None:
    few = bootstrap([1.0, 0.0, 0.5, 1.0])
    many = bootstrap([1.0, 0.0, 0.5, 1.0] * 50)
    assert few.low <= few.mean <= few.high and few.mean == pytest.approx(0.625) and few.n == 4
    assert (many.high - many.low) < (few.high - few.low)
    assert bootstrap([]).n == 0 and bootstrap([0.7] * 10).low == pytest.approx(0.7)
    assert paired_difference([0.5, 0.5], [1.0, 1.0]).mean == pytest.approx(0.5)
