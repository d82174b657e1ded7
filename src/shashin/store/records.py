"""The typed rows the store hands out: files, orphans, errors, and reports about tables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users


@dataclass(frozen=True)
class FileRow:
    """A file on disk that holds a photo (a photo may have several: copies)."""

    path: str
    photo_id: str
    root: str
    size: int
    mtime_ns: int
    terms: str = ""
    content_hash: str | None = None  # the bytes' hash when last read; None: the photo id

    @property
    def content(self) -> str:
        """The hash of the file's bytes as last read."""
        return self.content_hash or self.photo_id


@dataclass(frozen=True)
class Orphan:
    """What a person wrote about a photo that is no longer in the library, kept until the photo
    returns (by content or by pixels), it is attached to another photo, or it is forgotten."""

    former_photo_id: str
    pixel_hash: str | None
    paths: list[str]
    orphaned_at: datetime
    rows: dict[str, list[dict[str, Any]]]  # kind ("caption") -> the rows as they were stored

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.former_photo_id,
            "paths": self.paths,
            "orphaned_at": self.orphaned_at.isoformat(),
            "kept": dict(self.rows.items()),
        }


@dataclass(frozen=True)
class ErrorRow:
    """A file that could not be indexed, with the reason in a user's words."""

    path: str
    root: str
    stage: str
    message: str
    size: int | None = None
    mtime_ns: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class SearchTuning:
    """When vector search turns approximate (rows at least ann_min_rows; 0: never), how many
    inverted-file lists it scans (nprobe; 0: chosen from the list count), and above how many rows
    a vector table is searched through its on-disk Lance index (built by `shashin optimize`)
    instead of from memory (memory_max_rows; 0: always from memory)."""

    ann_min_rows: int = 50_000
    nprobe: int = 0
    memory_max_rows: int = 2_000_000
    refine: int = 200  # IVF_PQ: candidates re-ranked on exact vectors, as a multiple of the page (bench_scale)


@dataclass(frozen=True)
class VectorIndexReport:
    """What `optimize` did to one vector column's approximate index."""

    table: str
    column: str
    rows: int
    action: str  # built | rebuilt | updated | skipped (too few rows)
    kind: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Salvaged:
    """A damaged table after salvage: rows kept as they were, rows found again in older versions of
    the table, rows lost; `dropped` when the table held outputs `index` computes again."""

    name: str
    kept: int = 0
    recovered: int = 0
    lost: int = 0
    dropped: bool = False


@dataclass(frozen=True)
class TableHealth:
    """One table after a full read: rows read, rows that could not be, and the first problem."""

    name: str
    rows: int
    unreadable: int
    problem: str | None
    core: bool  # the library's own data (False: outputs `index` recomputes)

    @property
    def ok(self) -> bool:
        return self.problem is None
