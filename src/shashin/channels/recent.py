"""The vectors of the query texts a model encoded last, so that asking again costs no model run.

A second page, a facet clicked, a saved search run again, an excluded word or an alternative
used before: each asks a meaning channel for the vector of a text it has just encoded. A query
costs e5-small 13 ms on 2 cores and an image-text model's text tower more; a lookup costs
microseconds. Keyed by the model's identity as well, so a changed model never answers from here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np


class RecentQueries:
    """The last `size` (model, text) -> vector pairs, least recently used dropped first; shared
    by concurrent searches (the model runs outside the lock: two may encode one text at once)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, model: str, text: str, encode: Callable[[str], np.ndarray]) -> np.ndarray:
        """The vector of `text` from `model`: remembered, or `encode(text)` (then remembered,
        read-only, since every caller shares it)."""
        key = (model, text)
        with self._lock:
            known = self._vectors.get(key)
            if known is not None:
                self._vectors.move_to_end(key)
                return known
        vector = np.array(encode(text), dtype=np.float32)
        vector.flags.writeable = False
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector

    def clear(self) -> None:
        """Forget every vector (a benchmark timing queries asked for the first time)."""
        with self._lock:
            self._vectors.clear()
