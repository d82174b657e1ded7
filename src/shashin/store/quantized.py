"""int8 codes of normalized vectors: the inverted file scans these, a quarter of float32's bytes.

Each dimension is scaled so that its largest magnitude in the library becomes 127 and rounded.
A query is divided by the same scales and rounded to int8 too, so a code's dot product with it
orders the vectors almost as the true cosine does; the best candidates are then scored again on
the float32 vectors (VectorIndex), so the similarities a search returns are exact.

The dot products run in numkong's SIMD kernels (a dependency of usearch, Apache-2.0) when it is
installed: 2.3× a float32 matrix product here over a quarter of the memory. Without it, numpy
scores blocks in float32 (slower than not quantizing; the results are the same).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

RERANK = 2  # candidates scored again on float32 vectors, per result asked for


@dataclass(frozen=True)
class Codes:
    """int8 codes of a matrix's rows (same order) and the per-dimension scales they were made with."""

    codes: np.ndarray  # int8, rows × dimensions
    scales: np.ndarray  # float32 per dimension: code = round(value × scale)

    @classmethod
    def of(cls, matrix: np.ndarray, block: int = 65536) -> Codes:
        """Codes of `matrix` (float32 rows), scaled per dimension to fill int8."""
        largest = np.zeros(matrix.shape[1], np.float32)
        for start in range(0, len(matrix), block):
            np.maximum(largest, np.abs(matrix[start : start + block]).max(axis=0), out=largest)
        scales = (127.0 / np.maximum(largest, 1e-12)).astype(np.float32)
        codes = np.empty(matrix.shape, np.int8)
        for start in range(0, len(matrix), block):
            part = np.rint(matrix[start : start + block] * scales)
            codes[start : start + block] = np.clip(part, -127, 127)
        return cls(codes, scales)

    def query(self, vector: np.ndarray) -> np.ndarray:
        """The query as int8, so that its dot product with a code ranks like the true similarity."""
        scaled = vector / self.scales
        peak = float(np.abs(scaled).max())
        return np.rint(scaled * (127.0 / peak)).astype(np.int8) if peak > 0 else np.zeros(len(vector), np.int8)

    def scores(self, query: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Approximate scores (a monotone stand-in for cosine) of rows start:stop against query()'s output."""
        block = self.codes[start:stop]
        kernel = _kernel()
        if kernel is not None and len(block):
            return np.asarray(kernel(query[None, :], block, metric="dot"), np.float32)[0]
        return block.astype(np.float32) @ query.astype(np.float32)


@functools.cache
def _kernel() -> Any:
    """numkong's cdist, or None when it is not installed."""
    try:
        import numkong
    except ImportError:
        return None
    return numkong.cdist


def rerank_depth(limit: int) -> int:
    """How many candidates by code to score again exactly for `limit` results."""
    return max(RERANK * limit, 64)


__all__ = ["RERANK", "Codes", "rerank_depth"]
