"""Near-duplicate groups: perceptual hashes propose pairs, image vectors confirm them.

Exact copies (the same bytes at several paths) are one photo with several files and form a
group of their own. Within a group the best-quality file comes first: most pixels, then the
largest file, then the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shashin.channels.image import ImageChannel
from shashin.channels.phash import PerceptualHashChannel
from shashin.store import Store

_BLOCK = 2048  # rows of the hash matrix compared at a time (memory: block × photos bytes)


@dataclass(frozen=True)
class DuplicateFile:
    """One file in a duplicate group."""

    path: str
    photo_id: str
    width: int
    height: int
    size: int
    format: str
    similarity: float | None = None  # cosine similarity to the group's first photo (None: no vectors)
    hash_distance: int | None = None  # perceptual-hash bits that differ from the first photo


@dataclass(frozen=True)
class DuplicateGroup:
    """Files that show the same picture, best first."""

    files: list[DuplicateFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.__dict__ for f in self.files]}


def find_duplicates(
    store: Store, *, image_version: str | None, min_similarity: float, max_hash_distance: int
) -> list[DuplicateGroup]:
    """Groups of near-duplicate photos (and of exact copies), largest groups first."""
    hashes = {
        row["photo_id"]: int(row["phash"], 16)
        for row in store.channel_select(PerceptualHashChannel.name, ["photo_id", "phash"], present=["phash"])
    }
    vectors: dict[str, np.ndarray] = {}
    if image_version is not None:
        vectors = {
            row["photo_id"]: np.asarray(row["vector"], dtype=np.float32)
            for row in store.channel_select(ImageChannel.name, ["photo_id", "vector"], version=image_version)
        }

    parents: dict[str, str] = {}

    def root(photo_id: str) -> str:  # union-find with path halving
        while parents.setdefault(photo_id, photo_id) != photo_id:
            parents[photo_id] = parents[parents[photo_id]]
            photo_id = parents[photo_id]
        return photo_id

    for first, second in _hash_pairs(hashes, max_hash_distance):
        a, b = vectors.get(first), vectors.get(second)
        if a is not None and b is not None:
            confirmed = float(a @ b) >= min_similarity
        else:  # no vectors to confirm with: only a much closer hash counts
            confirmed = (hashes[first] ^ hashes[second]).bit_count() <= max_hash_distance // 2
        if confirmed:
            parents[root(first)] = root(second)

    members: dict[str, set[str]] = {}
    for photo_id in list(parents):
        members.setdefault(root(photo_id), set()).add(photo_id)
    files = store.file_rows_for(list(store.photo_ids()))
    for photo_id, rows in files.items():  # exact copies: one photo, several files
        if len(rows) > 1 and photo_id not in parents:
            members[photo_id] = {photo_id}
    photos = store.get_photos({pid for group in members.values() for pid in group})

    groups: list[DuplicateGroup] = []
    for group in members.values():
        entries = [(photos[pid], row) for pid in group if pid in photos for row in files.get(pid, [])]
        if len(entries) < 2:
            continue
        entries.sort(key=lambda e: (-(e[0]["width"] * e[0]["height"]), -e[1].size, e[1].path))
        best = entries[0][0]["photo_id"]
        groups.append(
            DuplicateGroup(
                [
                    DuplicateFile(
                        path=row.path,
                        photo_id=photo["photo_id"],
                        width=photo["width"],
                        height=photo["height"],
                        size=row.size,
                        format=photo["format"],
                        similarity=_similarity(vectors, best, photo["photo_id"]),
                        hash_distance=_distance(hashes, best, photo["photo_id"]),
                    )
                    for photo, row in entries
                ]
            )
        )
    groups.sort(key=lambda g: (-len(g.files), g.files[0].path))
    return groups


def _hash_pairs(hashes: dict[str, int], max_distance: int) -> list[tuple[str, str]]:
    """Pairs of photos whose hashes differ in at most `max_distance` bits (vectorized, blockwise)."""
    ids = list(hashes)
    if len(ids) < 2:
        return []
    values = np.array([hashes[i] for i in ids], dtype=np.uint64)
    pairs: list[tuple[str, str]] = []
    for start in range(0, len(ids), _BLOCK):
        block = values[start : start + _BLOCK]
        distances = np.bitwise_count(block[:, None] ^ values[None, :])
        rows, columns = np.nonzero(distances <= max_distance)
        for row, column in zip(rows.tolist(), columns.tolist()):
            if start + row < column:
                pairs.append((ids[start + row], ids[column]))
    return pairs


def _similarity(vectors: dict[str, np.ndarray], first: str, second: str) -> float | None:
    a, b = vectors.get(first), vectors.get(second)
    return None if a is None or b is None else round(float(a @ b), 4)


def _distance(hashes: dict[str, int], first: str, second: str) -> int | None:
    a, b = hashes.get(first), hashes.get(second)
    return None if a is None or b is None else (a ^ b).bit_count()
