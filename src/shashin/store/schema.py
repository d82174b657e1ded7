"""Table layouts of a library, and the schema version that names them.

Bump SCHEMA_VERSION when a core table changes and add the step to MIGRATIONS in lance.py.
Channel tables are laid out by their channel (common columns below + its own payload) and are
rebuilt when that layout changes, since their content is recomputable.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

UTC_TIME = pa.timestamp("us", tz="UTC")

META = pa.schema([("key", pa.string()), ("value", pa.string())])

FOLDERS = pa.schema([("root", pa.string()), ("added_at", UTC_TIME)])

PHOTOS = pa.schema(
    [
        ("photo_id", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("format", pa.string()),
        ("taken_at", pa.timestamp("s")),  # local time as the camera recorded it
        ("utc_offset", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("altitude", pa.float64()),
        ("camera_make", pa.string()),
        ("camera_model", pa.string()),
        ("lens", pa.string()),
        ("thumbnail", pa.string()),  # path relative to the library folder
        ("indexed_at", UTC_TIME),
    ]
)

FILES = pa.schema(
    [
        ("path", pa.string()),
        ("photo_id", pa.string()),
        ("root", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("terms", pa.string()),  # file name, folders and camera, tokenized for keyword search
        ("seen_at", UTC_TIME),
    ]
)

ERRORS = pa.schema(
    [
        ("path", pa.string()),
        ("root", pa.string()),
        ("stage", pa.string()),  # scan, decode, or a channel name
        ("message", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("at", UTC_TIME),
    ]
)

CHANNEL_COMMON = [
    pa.field("photo_id", pa.string()),
    pa.field("version", pa.string()),  # the channel's identity when this row was computed
    pa.field("status", pa.string()),  # "done" or "failed"
    pa.field("error", pa.string()),
    pa.field("updated_at", UTC_TIME),
]


def channel_schema(payload: list[pa.Field]) -> pa.Schema:
    """The layout of a channel's table: common bookkeeping columns, then its payload."""
    return pa.schema(CHANNEL_COMMON + list(payload))
