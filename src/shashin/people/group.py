"""Grouping face descriptors: who is nearest, and Chinese whispers over the pairs under a threshold.

Chinese whispers (Biemann 2006; dlib's `chinese_whispers_clustering`) needs no number of groups
and keeps a face alone when nothing is close; measured on labelled faces (NOTES.md) at 0.5 it
gives pairwise precision 0.95, recall 0.94, while 0.6 merges different people."""

from __future__ import annotations

import numpy as np

_BLOCK = 2048
_ANCHOR = 3.0  # how much more a confirmed face's vote weighs in Chinese whispers  # rows of the distance matrix computed at a time (memory: block × n floats)


def nearest(queries: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query descriptor, the index of its nearest known descriptor and the distance."""
    if not len(known) or not len(queries):
        return np.full(len(queries), -1), np.full(len(queries), np.inf)
    indices = np.empty(len(queries), np.int64)
    distances = np.empty(len(queries), np.float32)
    known_sq = (known.astype(np.float32) ** 2).sum(axis=1)
    for start in range(0, len(queries), _BLOCK):
        block = queries[start : start + _BLOCK].astype(np.float32)
        squared = (block**2).sum(axis=1)[:, None] + known_sq[None, :] - 2 * block @ known.T
        best = squared.argmin(axis=1)
        indices[start : start + len(block)] = best
        distances[start : start + len(block)] = np.sqrt(np.maximum(squared[np.arange(len(block)), best], 0))
    return indices, distances


def pairs_under(descriptors: np.ndarray, threshold: float, most: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) for pairs i < j closer than `threshold`, at most `most` neighbours per face."""
    vectors = descriptors.astype(np.float32)
    norms = (vectors**2).sum(axis=1)
    rows, cols, dists = [], [], []
    for start in range(0, len(vectors), _BLOCK):
        block = vectors[start : start + _BLOCK]
        squared = norms[start : start + len(block), None] + norms[None, :] - 2 * block @ vectors.T
        np.maximum(squared, 0, out=squared)
        limit = threshold * threshold
        for offset, row in enumerate(squared):
            face = start + offset
            close = np.flatnonzero(row < limit)
            close = close[close != face]
            if len(close) > most:
                close = close[np.argsort(row[close])[:most]]
            rows.append(np.full(len(close), face))
            cols.append(close)
            dists.append(np.sqrt(row[close]))
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    i, j, d = np.concatenate(rows), np.concatenate(cols), np.concatenate(dists)
    keep = i < j
    return i[keep], j[keep], d[keep]


def chinese_whispers(
    count: int,
    i: np.ndarray,
    j: np.ndarray,
    distance: np.ndarray,
    fixed: np.ndarray | None = None,
    rounds: int = 30,
    seed: int = 0,
) -> np.ndarray:
    """Group labels for `count` faces linked by the pairs (i, j): each face takes, in random order,
    the label its neighbours weigh most (weight 1 − distance). `fixed` (−1 for free faces) holds
    labels that never change (faces a person confirmed) and spread to their neighbours."""
    labels = np.arange(count) if fixed is None else np.where(fixed >= 0, fixed, np.arange(count) + count)
    locked = np.zeros(count, bool) if fixed is None else fixed >= 0
    neighbours: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    for a, b, d in zip(i.tolist(), j.tolist(), distance.tolist(), strict=True):
        weight = max(1e-3, 1.0 - d)
        neighbours[a].append((b, weight))
        neighbours[b].append((a, weight))
    generator = np.random.default_rng(seed)
    for _ in range(rounds):
        changed = 0
        for face in generator.permutation(count):
            if locked[face] or not neighbours[face]:
                continue
            votes: dict[int, float] = {}
            for other, weight in neighbours[face]:
                # A confirmed face speaks louder: its person spreads to the faces close to it.
                vote = weight * (_ANCHOR if locked[other] else 1.0)
                votes[labels[other]] = votes.get(labels[other], 0.0) + vote
            best = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
            if best != labels[face]:
                labels[face] = best
                changed += 1
        if not changed:
            break
    return labels
