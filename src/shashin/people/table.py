"""The faces table in bulk, and what a face's `source` says (who decided it, or how it was grouped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shashin.config import FaceSettings
from shashin.store.contract import ManyPerPhotoStore

CHANNEL = "faces"


DECIDED = ("confirmed", "imported")  # a person (or their photo app) said who this is


REJECTED = "rejected"  # a person said "not this one": never grouped again by itself


FORGOTTEN = "forgotten"  # its descriptor was deleted on request; the face stays as a tombstone


ALONE = "alone"  # looked at: nobody close yet (a later face of the same person groups with it)


def face_columns(store: ManyPerPhotoStore, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Every face with only these columns (without descriptors, reading is cheap)."""
    return store.rows_table("faces", columns).to_pylist()


class FaceTable:
    """The faces table in bulk: its small columns as lists and arrays, descriptors as one matrix,
    whole rows made only for the faces that change."""

    def __init__(self, store: ManyPerPhotoStore) -> None:
        self.table = store.rows_table("faces")
        self.ids: list[str] = self.table.column("face_id").to_pylist()
        self.photos: list[str] = self.table.column("photo_id").to_pylist()
        self.people: list[str | None] = self.table.column("person_id").to_pylist()
        self.sources: list[str | None] = self.table.column("source").to_pylist()
        self.numbers: list[int] = self.table.column("n").to_pylist()
        self.sizes = np.asarray(self.table.column("size").to_numpy(zero_copy_only=False), dtype=np.float64)
        self.sharpness = np.asarray(self.table.column("sharpness").to_numpy(zero_copy_only=False), dtype=np.float64)
        # Descriptors as one matrix of the newest face's length: after a change of face model, the
        # faces the old one found (another length) wait, ungrouped, until the channel redoes them.
        descriptors = self.table.column("descriptor").combine_chunks()
        lengths = pc.list_value_length(descriptors).to_numpy(zero_copy_only=False)
        newest = int(np.argmax(self.table.column("created_at").to_numpy(zero_copy_only=False))) if len(lengths) else 0
        dimensions = int(lengths[newest]) if len(lengths) else 0
        self.current = lengths == dimensions
        self.descriptors = np.zeros((len(self.ids), dimensions), np.float32)
        if self.current.any():
            values = descriptors.filter(pa.array(self.current)).flatten().to_numpy(zero_copy_only=False)
            self.descriptors[self.current] = values.reshape(-1, dimensions)

    def groupable(self, settings: FaceSettings) -> np.ndarray:
        """The faces that may join or found a group, as a mask: decided by a person, or large,
        sharp and not rejected — and found by the current face model."""
        decided = np.array([s in DECIDED for s in self.sources], bool)
        out = np.array([s in (REJECTED, FORGOTTEN) for s in self.sources], bool)
        big = (np.nan_to_num(self.sizes) >= settings.min_size) & (
            np.nan_to_num(self.sharpness) >= settings.min_sharpness
        )
        return (decided | (big & ~out)) & self.current

    def rows(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return self.table.take(np.asarray(indices, dtype=np.int64)).to_pylist() if len(indices) else []


def write_faces(store: ManyPerPhotoStore, faces: FaceTable, changes: dict[int, tuple[str | None, str | None]]) -> None:
    """Set (person, source) of the faces at these positions (one commit)."""
    order = sorted(changes)
    rows = faces.rows(order)
    for row, index in zip(rows, order, strict=True):
        row["person_id"], row["source"] = changes[index]
    store.put_rows("faces", rows)
