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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Candidates scored again on float32 vectors beyond the results asked for: at 100k photos, 200
# results re-ranked from 232 candidates or from 400 found the same (recall@200 0.994 image, 0.993
# captions; bench_vectors.py): the inverted file's probe, not the codes, bounds recall.
RERANK_EXTRA = 0.25
READ_ROWS_ABOVE = 1 << 30  # bytes: a larger saved matrix is re-ranked by reading rows, not mapping them


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
    return limit + max(32, int(limit * RERANK_EXTRA))


@dataclass(frozen=True)
class RowFile:
    """The float32 rows of a saved matrix (.npy), read by position. The candidates of a query lie
    scattered over the file: read through a mapping, each brought 64 KB or more into the process
    (the kernel maps a page's neighbours with it), 0.9 GB after 100 queries at a million photos;
    read into a buffer, they cost the page cache, not the process."""

    path: str
    offset: int  # where the rows start (after the .npy header)
    dimensions: int

    @classmethod
    def of(cls, path: Path) -> RowFile | None:
        """The rows of `path`, or None when it is not a C-ordered float32 matrix."""
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(handle)
                offset = handle.tell()
        except (OSError, ValueError):
            return None
        if fortran or dtype != np.float32 or len(shape) != 2:
            return None
        return cls(str(path), offset, int(shape[1]))

    def read(self, positions: np.ndarray) -> np.ndarray:
        """The rows at `positions` (sorted, for reads in file order)."""
        rows = np.empty((len(positions), self.dimensions), np.float32)
        size = self.dimensions * 4
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            for i, position in enumerate(positions.tolist()):
                os.preadv(descriptor, [rows[i]], self.offset + position * size)
        finally:
            os.close(descriptor)
        return rows


__all__ = ["READ_ROWS_ABOVE", "RERANK_EXTRA", "Codes", "RowFile", "rerank_depth"]
