"""What the store's modules share: table layout, filter building, small conversions."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shashin.store import schema
from shashin.store.memory import PhotoFacts, bool_array, encode_column

CHANNEL_PREFIX = "channel_"
LEASE_TABLE = "writer_lease"  # the writer lock on object storage (store/lock.py); not a library table


IN_CHUNK = 500  # values per SQL IN (...) list


KEEP_OLD_VERSIONS = timedelta(minutes=30)  # readers opened during a run keep their snapshot


IN_FLIGHT = "in-flight.json"  # the photos an index run is working on (see mark_in_flight)


RECHECK_SECONDS = 0.5  # how stale an in-memory search structure may be before its table is rechecked


# The library's own tables: layout, full-text columns, key columns (channel tables and caption
# chunks are laid out by their channel and can be recomputed; these cannot).
CORE_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...], tuple[str, ...]]] = {
    "meta": (schema.META, (), ()),
    "folders": (schema.FOLDERS, (), ()),
    "photos": (schema.PHOTOS, (), ("photo_id",)),
    "files": (schema.FILES, ("terms",), ("path", "photo_id")),
    "errors": (schema.ERRORS, (), ()),
    "captions": (schema.CAPTIONS, ("terms",), ("caption_id", "photo_id")),
    "orphans": (schema.ORPHANS, (), ("orphan_key",)),
    "tags": (schema.TAGS, (), ("tag_id", "photo_id")),
    "faces": (schema.FACES, (), ("face_id", "photo_id")),
    "people": (schema.PEOPLE, (), ("person_id",)),
}


@dataclass(frozen=True)
class ManyPerPhoto:
    """A table with any number of rows per photo (captions now; faces, keywords, regions next):
    rows are keyed by `key`, found by photo id, and `shown` are the columns search keeps in memory."""

    key: str
    shown: tuple[str, ...]


# A new kind of many-per-photo data: its schema in store/schema.py, a CORE_TABLES entry, one line here.
MANY_PER_PHOTO: dict[str, ManyPerPhoto] = {
    "captions": ManyPerPhoto(
        "caption_id", ("caption_id", "photo_id", "prompt_set", "lang", "text", "status", "source")
    ),
    "tags": ManyPerPhoto("tag_id", ("tag_id", "photo_id", "word", "state")),
    "faces": ManyPerPhoto("face_id", ("face_id", "photo_id", "n", "box", "person_id", "source")),
    "people": ManyPerPhoto("person_id", ("person_id", "photo_id", "name")),
}


def column_of(name: str) -> str:
    """A column name checked to be one (names come from code, but a filter is no place to trust them)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a column name: {name!r}")
    return name


def equal_to(**values: str | None) -> str:
    """A filter that every given column equals its value (None values are left out)."""
    return " AND ".join(f"{column_of(k)} = {sql_string(v)}" for k, v in values.items() if v is not None)


def sql_string(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def utc_now() -> datetime:
    return datetime.now(UTC)


def thumbnail_parts(photo_id: str) -> tuple[str, str, str]:
    """A thumbnail's place under the library: thumbnails/<first two hex digits>/<id>.webp."""
    return ("thumbnails", photo_id[:2], f"{photo_id}.webp")


def json_value(value: Any) -> Any:
    """Values JSON does not know (timestamps), as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def table_names_of(db: Any) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = db.list_tables(page_token=token) if token else db.list_tables()
        names.extend(page.tables)
        token = page.page_token
        if not token:
            return names


_UNIT = "\x1f"  # joins the camera columns (a control character no name holds)


def facts_of(photos: pa.Table, files: pa.Table, texted: pa.Table | None) -> PhotoFacts:
    ids = strings_of(photos, "photo_id")
    # Cameras are few: each distinct (make, model, lens) is joined and case-folded once.
    joined = pc.binary_join_element_wise(
        *(photos.column(c) for c in ("camera_make", "camera_model", "lens")),
        _UNIT,
        null_handling="replace",
        null_replacement="",
    )
    cameras = pc.dictionary_encode(joined).combine_chunks()
    camera_names = [
        " ".join(part for part in name.split(_UNIT) if part).casefold() for name in cameras.dictionary.to_pylist()
    ]
    file_photo_ids = strings_of(files, "photo_id")
    positions = np.searchsorted(ids, file_photo_ids) if len(ids) else np.zeros(len(file_photo_ids), np.int64)
    known = positions < len(ids)
    known[known] = ids[positions[known]] == file_photo_ids[known]
    texted_ids = strings_of(texted, "photo_id") if texted is not None else np.array([], dtype="S1")
    return PhotoFacts(
        ids=ids,
        taken_at=photos.column("taken_at").to_numpy(zero_copy_only=False).astype("datetime64[s]"),
        latitude=photos.column("latitude").to_numpy(zero_copy_only=False).astype(np.float64),
        longitude=photos.column("longitude").to_numpy(zero_copy_only=False).astype(np.float64),
        town=photos.column("town").to_numpy(zero_copy_only=False).astype(np.int32),
        town_km=photos.column("town_km").to_numpy(zero_copy_only=False).astype(np.float32),
        camera=cameras.indices.to_numpy(zero_copy_only=False).astype(np.int32),
        camera_names=camera_names,
        has_text=np.isin(ids, texted_ids),
        width=_sides(photos, "width"),
        height=_sides(photos, "height"),
        file_paths=files.column("path").filter(bool_array(known)),
        file_photos=positions[known],
    )


def _sides(photos: pa.Table, column: str) -> np.ndarray:
    """Pixels along one side as the photo is shown (0 when unknown)."""
    return pc.fill_null(photos.column(column), 0).to_numpy(zero_copy_only=False).astype(np.int32)


def strings_of(table: pa.Table, column: str) -> np.ndarray:
    """A string column as the in-memory indexes key rows by (numpy bytes, see memory.encode)."""
    return encode_column(table.column(column))


def in_clause(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(sql_string(v) for v in values)})"


def ends_as_lance(path: str) -> bool:
    """A Lance data file ends with the magic bytes LANC (a file cut short or overwritten does not)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            return handle.read(4) == b"LANC"
    except OSError:
        return False


def fragment_rows(fragment: Any) -> int:
    """How many rows a fragment holds, from the table's manifest (its data may be unreadable)."""
    try:
        return int(fragment.metadata.physical_rows or 0)
    except Exception:
        try:
            return int(fragment.count_rows())
        except Exception:
            return 0
