"""Remembered query vectors: one model run per (model, text), the least recently used dropped."""

from __future__ import annotations

import numpy as np
import pytest

from shashin.channels.recent import RecentQueries


def test_each_text_is_encoded_once_per_model_and_the_oldest_is_dropped() -> None:
    runs: list[str] = []

    def encode(text: str) -> np.ndarray:
        runs.append(text)
        return np.full(3, len(runs), np.float32)

    recent = RecentQueries(size=2)
    assert recent.vector("e5", "cat", encode).tolist() == [1, 1, 1]
    assert recent.vector("e5", "cat", encode).tolist() == [1, 1, 1] and runs == ["cat"]
    assert recent.vector("siglip", "cat", encode).tolist() == [2, 2, 2]  # another model: its own vector
    recent.vector("e5", "cat", encode)  # used again: now the most recent
    recent.vector("e5", "dog", encode)  # over the size: siglip's "cat" goes, not e5's
    assert runs == ["cat", "cat", "dog"]
    recent.vector("e5", "cat", encode)
    recent.vector("siglip", "cat", encode)
    assert runs == ["cat", "cat", "dog", "cat"]


def test_a_remembered_vector_cannot_be_changed_by_one_caller() -> None:
    vector = RecentQueries().vector("e5", "cat", lambda text: np.ones(3, np.float32))
    with pytest.raises(ValueError, match="read-only"):
        vector[0] = 5
