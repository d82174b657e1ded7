"""Table layouts of a library, and the schema version that names them.

Bump SCHEMA_VERSION when a core table changes and add the step to MIGRATIONS in lance.py.
Channel tables are laid out by their channel (common columns below + its own payload) and are
rebuilt when that layout changes, since their content is recomputable.
"""

from __future__ import annotations

import pyarrow as pa

# 2: captions; 3: content and pixel fingerprints, orphans (a person's words kept); 4: tags; 5: faces,
# people; 6: face descriptors of any length (dlib 128, ArcFace 512)
SCHEMA_VERSION = 6

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
        ("pixel_hash", pa.string()),  # shashin.fingerprint: the same pixels under other metadata are this photo
        ("source_hash", pa.string()),  # content hash of the file the metadata and thumbnail were read from
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
        ("content_hash", pa.string()),  # BLAKE2b of the bytes as last read (the photo id is the first content's)
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

CAPTIONS = pa.schema(
    [
        ("caption_id", pa.string()),  # photo_id:prompt_set:lang — one current caption of each kind
        ("photo_id", pa.string()),
        ("prompt_set", pa.string()),  # brief, detailed
        ("lang", pa.string()),  # en, ja, ...
        ("text", pa.string()),  # after the degeneration guard; empty when failed
        ("raw", pa.string()),  # what the backend returned, for review
        ("terms", pa.string()),  # `text` tokenized for keyword search
        ("status", pa.string()),  # done, failed
        ("error", pa.string()),
        ("source", pa.string()),  # generated, imported, human
        ("backend", pa.string()),
        ("model", pa.string()),
        ("prompt", pa.string()),
        ("params", pa.string()),  # generation parameters, JSON
        ("version", pa.string()),  # backend, model, prompt and parameters together: a change redoes it
        ("created_at", UTC_TIME),
    ]
)

TAGS = pa.schema(
    [
        ("tag_id", pa.string()),  # photo_id:word (case-folded) — one decision per word
        ("photo_id", pa.string()),
        ("word", pa.string()),  # as the person wrote it
        ("state", pa.string()),  # added, removed (a suggested tag the person took away)
        ("created_at", UTC_TIME),
    ]
)

FACES = pa.schema(
    [
        ("face_id", pa.string()),  # photo_id:n
        ("photo_id", pa.string()),
        ("n", pa.int32()),  # its place among the photo's faces as the channel found them
        ("box", pa.list_(pa.float32(), 4)),  # left, top, width, height as fractions
        ("score", pa.float32()),
        ("size", pa.int32()),
        ("sharpness", pa.float32()),
        ("descriptor", pa.list_(pa.float32())),  # as long as the face model makes them
        ("version", pa.string()),  # the faces channel's version that found it
        ("person_id", pa.string()),  # None: not grouped (yet)
        ("source", pa.string()),  # clustered, confirmed (a person said so), imported (a named region)
        ("created_at", UTC_TIME),
    ]
)

PEOPLE = pa.schema(
    [
        ("person_id", pa.string()),
        ("photo_id", pa.string()),  # a face of theirs to show (many-per-photo tables are keyed by photo)
        ("name", pa.string()),  # None: not named yet
        ("created_at", UTC_TIME),
    ]
)


ORPHANS = pa.schema(
    [
        ("orphan_key", pa.string()),  # former photo id : kind : key
        ("former_photo_id", pa.string()),
        ("pixel_hash", pa.string()),  # the former photo's fingerprint: a photo that returns with it gets these back
        ("kind", pa.string()),  # caption, tag (later: names, people)
        ("key", pa.string()),  # which one of its kind: "brief:en"
        ("data", pa.string()),  # the row as JSON, as it was stored
        ("paths", pa.list_(pa.string())),  # where the photo was last seen
        ("orphaned_at", UTC_TIME),
    ]
)


def caption_chunks_schema(dimensions: int) -> pa.Schema:
    """Caption text split into chunks that fit the text-embedding model, one vector each."""
    return pa.schema(
        [
            ("chunk_id", pa.string()),  # caption_id#n
            ("caption_id", pa.string()),
            ("photo_id", pa.string()),
            ("caption_version", pa.string()),  # the caption's version when it was embedded
            ("version", pa.string()),  # the embedding model's identity
            ("text", pa.string()),
            ("vector", pa.list_(pa.float32(), dimensions)),
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
