"""A library: LanceDB tables under <db>/tables, thumbnails under <db>/thumbnails, where <db> is a
local folder or an object-storage prefix (s3://bucket/prefix, gs://, az://).

Every write is one Lance commit (atomic): a process killed at any moment leaves the last
committed state, which always opens. Callers order their writes so that any prefix of them
is a consistent state (see ingest/pipeline.py).
"""

from __future__ import annotations

import errno
import fcntl
import functools
import inspect
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, BTree

from shashin import __version__, storage
from shashin.errors import Busy, Unavailable
from shashin.store import ann, schema
from shashin.store.ann import DiskVectorIndex
from shashin.store.memory import Cached, KeywordIndex, PhotoFacts, PhotoSet, RowLookup, VectorIndex, encode_column
from shashin.text import fuzzy
from shashin.text.tokenize import search_form

_CHANNEL_PREFIX = "channel_"
_IN_CHUNK = 500  # values per SQL IN (...) list
_KEEP_OLD_VERSIONS = timedelta(minutes=30)  # readers opened during a run keep their snapshot
_IN_FLIGHT = "in-flight.json"  # the photos an index run is working on (see mark_in_flight)
_RECHECK_SECONDS = 0.5  # how stale an in-memory search structure may be before its table is rechecked

# The library's own tables: layout, full-text columns, key columns (channel tables and caption
# chunks are laid out by their channel and can be recomputed; these cannot).
_CORE_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...], tuple[str, ...]]] = {
    "meta": (schema.META, (), ()),
    "folders": (schema.FOLDERS, (), ()),
    "photos": (schema.PHOTOS, (), ("photo_id",)),
    "files": (schema.FILES, ("terms",), ("path", "photo_id")),
    "errors": (schema.ERRORS, (), ()),
    "captions": (schema.CAPTIONS, ("terms",), ("caption_id", "photo_id")),
    "orphans": (schema.ORPHANS, (), ("orphan_key",)),
}


def _add_captions(store: Store) -> None:
    store._create("captions", schema.CAPTIONS, fts=("terms",), keys=("caption_id", "photo_id"))


def _add_fingerprints(store: Store) -> None:
    # Until now a file's content hash was its photo's id. Pixel fingerprints are unknown: the next
    # index run reads each photo once to record them (no model work).
    if "pixel_hash" not in store._table("photos").schema.names:
        store._table("photos").add_columns({"pixel_hash": "CAST(NULL AS STRING)", "source_hash": "photo_id"})
    if "content_hash" not in store._table("files").schema.names:
        store._table("files").add_columns({"content_hash": "photo_id"})
    store._create("orphans", schema.ORPHANS, keys=("orphan_key",))


# Migrations from schema version N to N+1, applied in order when an older library is opened.
MIGRATIONS: dict[int, Callable[[Store], None]] = {1: _add_captions, 2: _add_fingerprints}


class StoreError(Unavailable, RuntimeError):
    """The library cannot be opened or written; the message says which folder and why."""


class StoreBusy(Busy, StoreError):
    """Another process is writing to this library."""


class LibraryDamaged(StoreError):
    """A table of the library cannot be read (a data file deleted, cut short or overwritten)."""


# How the library's storage fails, as Python (errno) and as Lance reports it (the OS error in text).
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
_LANCE_NO_SPACE = re.compile(r"No space left on device|os error 28|Disk quota exceeded|os error 122", re.I)
_LANCE_NOT_WRITABLE = re.compile(r"Read-only file system|os error 30|Permission denied|os error 13", re.I)
_LANCE_DAMAGE = re.compile(
    r"lance error|LanceError|Not found: .*\.lance|corrupt|Invalid (?:file|data|input)|not appear to be a Lance file|"
    r"invalid magic|unexpected end|out of range|truncated",
    re.I,
)


def _plain(store: Store, exc: BaseException) -> StoreError | None:
    """The storage failure `exc` in a user's words (which library, what happened, what to do), or
    None when it is not one."""
    text = str(exc)
    where = f"the library {store.root}"
    number = exc.errno if isinstance(exc, OSError) else None
    if number in _NO_SPACE or _LANCE_NO_SPACE.search(text):
        return StoreError(
            f"no space left on the disk of {where}: free some space and run the command again "
            "(everything committed before is kept)"
        )
    if number in _NOT_WRITABLE or _LANCE_NOT_WRITABLE.search(text):
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else _first_line(text)
        return StoreError(
            f"{where} cannot be written ({reason}): run shashin as a user who may write it, or on a writable copy"
        )
    if _LANCE_DAMAGE.search(text):
        return LibraryDamaged(
            f"{where} is damaged: {_first_line(text)}; `shashin check` says what is damaged and "
            "what `shashin index` can rebuild"
        )
    return None


def _first_line(text: str) -> str:
    """An error message without Rust backtraces and wrapping, short enough for one line."""
    text = text.split(", /rustc/", maxsplit=1)[0].split(", /home/", maxsplit=1)[0].splitlines()[0] if text else ""
    text = re.sub(r"lance error: |LanceError\(\w+\): |Generic N/A error: |External error: |Wrapped error: ", "", text)
    text = re.sub(r"(Not found: )+", "not found: ", text)
    return text[:300]


def _in_plain_words(cls: type) -> type:
    """Every public method of the class raises storage failures as StoreError with a message a
    user can act on (disk full, read-only, damaged), never as a Rust or Python traceback."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def plain(self: Store, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except (OSError, RuntimeError, ValueError) as exc:
                translated = _plain(self, exc)
                if translated is None:
                    raise
                raise translated from exc

        return plain

    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member) and name != "writer":
            setattr(cls, name, wrap(member))
    return cls


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


def _ends_as_lance(path: str) -> bool:
    """A Lance data file ends with the magic bytes LANC (a file cut short or overwritten does not)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            return handle.read(4) == b"LANC"
    except OSError:
        return False


def _fragment_rows(fragment: Any) -> int:
    """How many rows a fragment holds, from the table's manifest (its data may be unreadable)."""
    try:
        return int(fragment.metadata.physical_rows or 0)
    except Exception:
        try:
            return int(fragment.count_rows())
        except Exception:
            return 0


def _column(name: str) -> str:
    """A column name checked to be one (names come from code, but a filter is no place to trust them)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a column name: {name!r}")
    return name


def _equals(**values: str | None) -> str:
    """A filter that every given column equals its value (None values are left out)."""
    return " AND ".join(f"{_column(k)} = {sql_string(v)}" for k, v in values.items() if v is not None)


def sql_string(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _now() -> datetime:
    return datetime.now(UTC)


@_in_plain_words
class Store:
    """One library: the photos, files, errors and channel outputs of one --db folder."""

    def __init__(self, root: str | Path, *, create: bool = True) -> None:
        try:
            self.root = storage.normalize(str(root))
        except storage.StorageError as exc:
            raise StoreError(str(exc)) from None
        self.remote = storage.is_remote(self.root)
        try:
            self._db = self._connect(create)
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(
                f"cannot open library {self.root}: {str(exc).splitlines()[0] if str(exc) else exc}"
            ) from exc
        self._tables: dict[str, Any] = {}
        self._memory: dict[tuple[str, Any], Cached] = {}
        self._build_locks: dict[tuple[str, Any], threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._facts: tuple[tuple[int, ...], PhotoFacts] | None = None
        self.search_tuning = SearchTuning()
        try:
            self._open_core_tables(create)
        except (OSError, RuntimeError, ValueError) as exc:
            translated = _plain(self, exc)
            if translated is None:
                raise
            raise translated from exc

    def _connect(self, create: bool) -> Any:
        tables = storage.join(self.root, "tables")
        if self.remote:
            db = lancedb.connect(tables, read_consistency_interval=timedelta(0))
            if "meta" not in _table_names(db):
                if not create:
                    raise StoreError(
                        f"no shashin library at {self.root}; create one with: shashin index FOLDER --db {self.root}"
                    )
                if not storage.is_empty_folder(self.root) and storage.is_empty_folder(tables):
                    raise StoreError(
                        f"{self.root} holds other objects and is not a shashin library; choose a new or empty prefix for --db"
                    )
            return db
        if not os.path.exists(os.path.join(tables, "meta.lance")):
            if not create:
                raise StoreError(
                    f"no shashin library at {self.root}; create one with: shashin index FOLDER --db {self.root}"
                )
            if os.path.isdir(self.root) and os.listdir(self.root) and not os.path.exists(tables):
                raise StoreError(
                    f"{self.root} is not empty and is not a shashin library; choose a new or empty folder for --db"
                )
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create library folder {self.root}: {exc.strerror or exc}") from exc
        return lancedb.connect(tables, read_consistency_interval=timedelta(0))

    # ----------------------------------------------------------------- structure

    def _open_core_tables(self, create: bool) -> None:
        existing = set(self._table_names())
        # A library whose creation was interrupted has no schema version yet: a writer finishes
        # creating it. A reader must not: the creator may be at work this very moment.
        if "meta" not in existing or self.get_meta("schema_version") is None:
            if not create:
                raise StoreError(
                    f"the library at {self.root} is not finished (being created, or its creation was "
                    f"interrupted); shashin index --db {self.root} finishes it"
                )
            for name, (layout, fts, keys) in _CORE_TABLES.items():
                self._create(name, layout, fts=fts, keys=keys)
            # The schema version is written last: a library without it was never finished.
            self.set_meta("created_by", f"shashin {__version__}")
            self.set_meta("schema_version", str(schema.SCHEMA_VERSION))
            return
        version = int(self.get_meta("schema_version") or 0)
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self.root} was written by a newer shashin (schema {version}, this one reads "
                f"{schema.SCHEMA_VERSION}); upgrade shashin"
            )
        while version < schema.SCHEMA_VERSION:
            MIGRATIONS[version](self)
            version += 1
            self.set_meta("schema_version", str(version))

    def _table_names(self) -> list[str]:
        return [name for name in _table_names(self._db) if name != _LEASE_TABLE]

    def _create(self, name: str, table_schema: pa.Schema, fts: Sequence[str] = (), keys: Sequence[str] = ()) -> Any:
        table = self._db.create_table(name, schema=table_schema, exist_ok=True)
        for column in keys:  # lookups and merge_insert by key stay fast in large libraries
            table.create_index(column, config=BTree())
        for column in fts:
            table.create_index(
                column,
                config=FTS(
                    base_tokenizer="whitespace",  # text is tokenized by shashin.text before it is stored
                    lower_case=False,
                    stem=False,
                    remove_stop_words=False,
                    ascii_folding=False,
                    with_position=False,
                    max_token_length=100,
                ),
            )
        self._tables[name] = table
        return table

    def _table(self, name: str) -> Any:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = self._db.open_table(name)
        return table

    def _has_table(self, name: str) -> bool:
        if name in self._tables:
            return True
        if name not in self._table_names():
            return False
        try:
            self._table(name)
        except ValueError:  # listed while another process is still creating it
            return False
        return True

    # ----------------------------------------------------------------- generic reads and writes

    def _scan(self, name: str, columns: Sequence[str], where: str | None = None) -> pa.Table:
        query = self._table(name).search().select(list(columns))
        if where:
            query = query.where(where)
        return query.limit(None).to_arrow()

    def _scan_in(self, name: str, columns: Sequence[str], key: str, values: Iterable[str]) -> pa.Table:
        values = list(dict.fromkeys(values))
        parts = [
            self._scan(name, columns, _in_clause(key, values[i : i + _IN_CHUNK]))
            for i in range(0, len(values), _IN_CHUNK)
        ]
        return pa.concat_tables(parts) if parts else self._table(name).schema.empty_table().select(list(columns))

    def _upsert(self, name: str, key: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        unique = list({row[key]: row for row in rows}.values())  # one row per key, last wins
        table = self._table(name)
        data = pa.Table.from_pylist(unique, schema=table.schema)
        table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)
        self._wrote(name)

    def _delete_in(self, name: str, key: str, values: Iterable[str]) -> None:
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), _IN_CHUNK):
            self._table(name).delete(_in_clause(key, values[i : i + _IN_CHUNK]))
        self._wrote(name)

    def _wrote(self, name: str) -> None:
        """This process changed table `name`: its in-memory search structures are rechecked next time."""
        for (table, _), cached in self._memory.items():
            if table == name:
                cached.checked_at = float("-inf")

    # ----------------------------------------------------------------- meta and folders

    def get_meta(self, key: str) -> str | None:
        """A value from the library's key/value table, or None."""
        rows = self._scan("meta", ["value"], f"key = {sql_string(key)}").column("value").to_pylist()
        return rows[0] if rows else None

    def meta_values(self) -> dict[str, str]:
        """Every library-wide value (from memory: cheap enough to ask on every search)."""

        def read() -> dict[str, str]:
            table = self._scan("meta", ["key", "value"])
            return dict(zip(table.column("key").to_pylist(), table.column("value").to_pylist()))

        return self._in_memory("meta", ("values",), read)

    def set_meta(self, key: str, value: str) -> None:
        """Store a library-wide value (one commit)."""
        self._upsert("meta", "key", [{"key": key, "value": value}])

    def folders(self) -> list[str]:
        """The folders this library indexes, in the order they were added."""
        table = self._scan("folders", ["root", "added_at"]).sort_by("added_at")
        return table.column("root").to_pylist()

    def add_folder(self, root: str) -> None:
        """Remember `root` as one of this library's folders."""
        if root not in self.folders():
            self._upsert("folders", "root", [{"root": root, "added_at": _now()}])

    def remove_folders(self, roots: Sequence[str]) -> None:
        """Stop treating `roots` as folders of their own (their files stay until rescanned)."""
        self._delete_in("folders", "root", roots)

    # ----------------------------------------------------------------- files

    def files(self, root: str | None = None) -> dict[str, FileRow]:
        """Known files (all, or those found under one folder), by path."""
        where = f"root = {sql_string(root)}" if root is not None else None
        table = self._scan("files", ["path", "photo_id", "root", "size", "mtime_ns", "content_hash"], where)
        return {row["path"]: FileRow(**row) for row in table.to_pylist()}

    def put_files(self, rows: Sequence[FileRow]) -> None:
        """Insert or replace files by path (one commit)."""
        now = _now()
        self._upsert("files", "path", [asdict(row) | {"seen_at": now} for row in rows])

    def delete_files(self, paths: Iterable[str]) -> None:
        """Forget files by path; their photos stay until delete_orphan_photos()."""
        self._delete_in("files", "path", paths)

    def file_rows_for(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, list[FileRow]]:
        """All files of each photo, sorted by path. `from_memory` (search): from the in-memory copy
        of the table, without `terms`."""
        if from_memory:
            rows = self._lookup("files", "photo_id", ["path", "photo_id", "root", "size", "mtime_ns"]).rows(photo_ids)
        else:
            columns = ["path", "photo_id", "root", "size", "mtime_ns", "terms", "content_hash"]
            rows = self._scan_in("files", columns, "photo_id", photo_ids).to_pylist()
        result: dict[str, list[FileRow]] = {}
        for row in sorted(rows, key=lambda r: r["path"]):
            result.setdefault(row["photo_id"], []).append(FileRow(**row))
        return result

    def photo_id_of_path(self, path: str) -> str | None:
        """The photo a known file holds, or None."""
        ids = self._scan("files", ["photo_id"], f"path = {sql_string(path)}").column("photo_id").to_pylist()
        return ids[0] if ids else None

    def count_files(self) -> int:
        return self._table("files").count_rows()

    # ----------------------------------------------------------------- photos and thumbnails

    def photo_ids(self) -> set[str]:
        """Ids of every photo in the library."""
        return set(self._scan("photos", ["photo_id"]).column("photo_id").to_pylist())

    def count_photos(self) -> int:
        return self._table("photos").count_rows()

    def put_photos(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace photo metadata rows (keys as in schema.PHOTOS; one commit)."""
        now = _now()
        self._upsert("photos", "photo_id", [{**row, "indexed_at": now} for row in rows])

    def get_photos(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, dict[str, Any]]:
        """Metadata rows by photo id (missing ids are left out); `from_memory` for search."""
        if from_memory:
            return {
                row["photo_id"]: row for row in self._lookup("photos", "photo_id", schema.PHOTOS.names).rows(photo_ids)
            }
        table = self._scan_in("photos", schema.PHOTOS.names, "photo_id", photo_ids)
        return {row["photo_id"]: row for row in table.to_pylist()}

    def save_thumbnail(self, photo_id: str, data: bytes) -> str:
        """Write a thumbnail atomically; returns its path relative to the library."""
        storage.write_bytes(self.thumbnail_location(photo_id), data)
        return "/".join(_thumbnail_parts(photo_id))

    def thumbnail_location(self, photo_id: str) -> str:
        """Where the thumbnail of a photo is kept (a local path or an object URI)."""
        return storage.join(self.root, *_thumbnail_parts(photo_id))

    def thumbnail(self, photo_id: str) -> bytes | None:
        """The photo's WebP thumbnail, or None when it has none."""
        try:
            return storage.read_bytes(self.thumbnail_location(photo_id))
        except FileNotFoundError:
            return None

    def photo_hashes(self) -> dict[str, tuple[str | None, str | None]]:
        """photo id -> (pixel fingerprint, content hash its metadata was read from), for every photo."""
        table = self._scan("photos", ["photo_id", "pixel_hash", "source_hash"])
        return {
            pid: (pixels, source)
            for pid, pixels, source in zip(
                *(table.column(c).to_pylist() for c in ("photo_id", "pixel_hash", "source_hash"))
            )
        }

    def photos_without_files(self) -> set[str]:
        """Photos no file holds any more (they leave the library at the end of an index run)."""
        referenced = set(self._scan("files", ["photo_id"]).column("photo_id").to_pylist())
        return self.photo_ids() - referenced

    def delete_orphan_photos(self, last_paths: dict[str, list[str]] | None = None) -> list[str]:
        """Remove photos that no file holds any more, with their channel rows and thumbnails.

        What a person wrote about them (captions of source "human") is never deleted with them: it
        moves to the orphans table first (with `last_paths`, where each photo was last seen), from
        which it returns when the photo does. Each step is one commit and can be repeated: a run
        killed in between leaves both copies, and the next run finishes the move."""
        orphans = sorted(self.photos_without_files())
        if not orphans:
            return []
        human = self._scan_in("captions", schema.CAPTIONS.names, "photo_id", orphans).to_pylist()
        human = [row for row in human if row["source"] == "human"]
        if human:
            hashes = {pid: pixels for pid, (pixels, _) in self.photo_hashes().items() if pid in set(orphans)}
            self.keep_orphans(
                [
                    {
                        "former_photo_id": row["photo_id"],
                        "pixel_hash": hashes.get(row["photo_id"]),
                        "kind": "caption",
                        "key": f"{row['prompt_set']}:{row['lang']}",
                        "row": row,
                        "paths": (last_paths or {}).get(row["photo_id"], []),
                    }
                    for row in human
                ]
            )
        for name in self.channel_tables():
            self._delete_in(name, "photo_id", orphans)
        self._delete_in("captions", "photo_id", orphans)
        if self._has_table("caption_chunks"):
            self._delete_in("caption_chunks", "photo_id", orphans)
        self._delete_in("photos", "photo_id", orphans)
        for photo_id in orphans:
            storage.delete(self.thumbnail_location(photo_id))
        return orphans

    # ----------------------------------------------------------------- orphans (a person's words kept)

    def keep_orphans(self, entries: Sequence[dict[str, Any]]) -> None:
        """Store rows a person wrote for photos leaving the library (one commit; repeatable)."""
        now = _now()
        rows = []
        for entry in entries:
            key = f"{entry['former_photo_id']}:{entry['kind']}:{entry['key']}"
            data = json.dumps(entry["row"], default=_json_value, ensure_ascii=False)
            rows.append(
                {
                    "orphan_key": key,
                    "former_photo_id": entry["former_photo_id"],
                    "pixel_hash": entry["pixel_hash"],
                    "kind": entry["kind"],
                    "key": entry["key"],
                    "data": data,
                    "paths": list(entry["paths"]),
                    "orphaned_at": now,
                }
            )
        self._upsert("orphans", "orphan_key", rows)

    def orphans(self, where: str | None = None) -> list[Orphan]:
        """Kept rows of photos no longer in the library, one Orphan per former photo, oldest first."""
        if not self._has_table("orphans"):
            return []
        grouped: dict[str, Orphan] = {}
        for row in self._scan("orphans", schema.ORPHANS.names, where).to_pylist():
            orphan = grouped.get(row["former_photo_id"])
            if orphan is None:
                orphan = grouped[row["former_photo_id"]] = Orphan(
                    row["former_photo_id"], row["pixel_hash"], list(row["paths"] or []), row["orphaned_at"], {}
                )
            orphan.rows.setdefault(row["kind"], []).append(json.loads(row["data"]))
        return sorted(grouped.values(), key=lambda o: (o.orphaned_at, o.former_photo_id))

    def orphans_of(self, photo_ids: Iterable[str], pixel_hashes: Iterable[str]) -> list[Orphan]:
        """Orphans whose former photo had one of these ids (the same bytes returned) or fingerprints."""
        ids, hashes = list(dict.fromkeys(photo_ids)), [h for h in dict.fromkeys(pixel_hashes) if h]
        if not self._has_table("orphans") or not (ids or hashes) or not self._table("orphans").count_rows():
            return []
        found: dict[str, Orphan] = {}
        for values, column in ((ids, "former_photo_id"), (hashes, "pixel_hash")):
            for i in range(0, len(values), _IN_CHUNK):
                for orphan in self.orphans(_in_clause(column, values[i : i + _IN_CHUNK])):
                    found[orphan.former_photo_id] = orphan
        return list(found.values())

    def forget_orphans(self, former_photo_ids: Iterable[str]) -> None:
        """Delete every kept row of these former photos (one commit)."""
        self._delete_in("orphans", "former_photo_id", former_photo_ids)

    def forget_orphan_rows(self, keys: Iterable[str]) -> None:
        """Delete kept rows by key ("former id:kind:key"), e.g. once they returned to a photo."""
        self._delete_in("orphans", "orphan_key", keys)

    # ----------------------------------------------------------------- photos in flight

    def mark_in_flight(self, entries: Sequence[dict[str, Any]]) -> None:
        """Record the photos an index run is about to work on (a small file beside the tables): if
        the process dies (out of memory, a crash in a model) the next run knows which ones to suspect."""
        storage.write_bytes(
            storage.join(self.root, _IN_FLIGHT), json.dumps({"pid": os.getpid(), "photos": list(entries)}).encode()
        )

    def in_flight(self) -> list[dict[str, Any]]:
        """The photos a run was working on when it died ([] when the last run ended normally)."""
        try:
            data = json.loads(storage.read_bytes(storage.join(self.root, _IN_FLIGHT)))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # a marker cut short by the same crash: nothing to go on
        return [entry for entry in data.get("photos", []) if isinstance(entry, dict) and "photo_id" in entry]

    def clear_in_flight(self) -> None:
        storage.delete(storage.join(self.root, _IN_FLIGHT))

    # ----------------------------------------------------------------- errors

    def put_errors(self, rows: Sequence[ErrorRow]) -> None:
        """Record per-file errors, replacing earlier ones for the same path (one commit)."""
        now = _now()
        self._upsert("errors", "path", [asdict(row) | {"at": row.at or now} for row in rows])

    def delete_errors(self, paths: Iterable[str]) -> None:
        self._delete_in("errors", "path", paths)

    def errors(self, root: str | None = None) -> list[ErrorRow]:
        """Recorded per-file errors, sorted by path."""
        where = f"root = {sql_string(root)}" if root is not None else None
        table = self._scan("errors", schema.ERRORS.names, where)
        return sorted((ErrorRow(**row) for row in table.to_pylist()), key=lambda e: e.path)

    # ----------------------------------------------------------------- channels

    def channel_tables(self) -> list[str]:
        return [name for name in self._table_names() if name.startswith(_CHANNEL_PREFIX)]

    def ensure_channel(self, channel: str, payload: Sequence[pa.Field], fts: Sequence[str] = ()) -> None:
        """Create the channel's table, or rebuild it if its layout changed (its rows are recomputable)."""
        name = _CHANNEL_PREFIX + channel
        wanted = schema.channel_schema(list(payload))
        if self._has_table(name):
            if self._table(name).schema.equals(wanted):
                return
            self._db.drop_table(name)
            self._memory = {k: v for k, v in self._memory.items() if k[0] != name}
            self._tables.pop(name, None)
        self._create(name, wanted, fts=fts, keys=("photo_id",))

    def channel_states(self, channel: str) -> dict[str, tuple[str, str]]:
        """photo id -> (version, status) for every photo the channel has a row for."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return {}
        table = self._scan(name, ["photo_id", "version", "status"])
        return {
            pid: (version, status)
            for pid, version, status in zip(
                table.column("photo_id").to_pylist(),
                table.column("version").to_pylist(),
                table.column("status").to_pylist(),
            )
        }

    def put_channel_rows(self, channel: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace one row per photo: output and status in one commit."""
        now = _now()
        self._upsert(_CHANNEL_PREFIX + channel, "photo_id", [{**row, "updated_at": now} for row in rows])

    def channel_rows(
        self, channel: str, photo_ids: Iterable[str], columns: Sequence[str], *, from_memory: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Selected columns of a channel's rows, by photo id; `from_memory` (search) keeps those
        columns of the whole table in memory."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return {}
        if from_memory:
            return {
                row["photo_id"]: row for row in self._lookup(name, "photo_id", ["photo_id", *columns]).rows(photo_ids)
            }
        table = self._scan_in(name, ["photo_id", *columns], "photo_id", photo_ids)
        return {row["photo_id"]: row for row in table.to_pylist()}

    def channel_failures(self, channel: str, version: str) -> list[dict[str, Any]]:
        """Photos the channel failed on with its current version: photo id and error."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return []
        where = f"status = 'failed' AND version = {sql_string(version)}"
        return self._scan(name, ["photo_id", "error"], where).to_pylist()

    def channel_select(
        self,
        channel: str,
        columns: Sequence[str],
        *,
        version: str | None = None,
        present: Sequence[str] = (),
        stale: tuple[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Selected columns of a channel's done rows: of `version` when given, with every `present`
        column set, and with `stale` = (column, value) only where that column is unset or differs."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return []
        where = [_equals(status="done", version=version)]
        where += [f"{_column(column)} IS NOT NULL" for column in present]
        if stale is not None:
            column, value = _column(stale[0]), sql_string(stale[1])
            where.append(f"({column} IS NULL OR {column} != {value})")
        return self._scan(name, columns, " AND ".join(where)).to_pylist()

    def count_channel(self, channel: str, version: str, status: str) -> int:
        """How many photos have a row with this version and status."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return 0
        return self._table(name).count_rows(f"version = {sql_string(version)} AND status = {sql_string(status)}")

    # ----------------------------------------------------------------- captions

    def put_captions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace captions by caption_id (one commit)."""
        now = _now()
        self._upsert("captions", "caption_id", [{"created_at": now, **row} for row in rows])

    def captions(
        self,
        columns: Sequence[str] | None = None,
        *,
        status: str | None = None,
        source: str | None = None,
        prompt_set: str | None = None,
        caption_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Caption rows (all columns unless `columns`), only those with the values given."""
        where = _equals(status=status, source=source, prompt_set=prompt_set, caption_id=caption_id) or None
        return self._scan("captions", list(columns or schema.CAPTIONS.names), where).to_pylist()

    def captions_for(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, list[dict[str, Any]]]:
        """Every caption of each photo, by photo id. `from_memory` (search) gives only the columns
        search shows: caption_id, photo_id, prompt_set, lang, text, status, source."""
        if from_memory:
            columns = ["caption_id", "photo_id", "prompt_set", "lang", "text", "status", "source"]
            rows = self._lookup("captions", "photo_id", columns).rows(photo_ids)
        else:
            rows = self._scan_in("captions", schema.CAPTIONS.names, "photo_id", photo_ids).to_pylist()
        result: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            result.setdefault(row["photo_id"], []).append(row)
        return result

    def ensure_caption_chunks(self, dimensions: int) -> None:
        """Create the caption-chunk table, or rebuild it for another vector size."""
        wanted = schema.caption_chunks_schema(dimensions)
        if self._has_table("caption_chunks"):
            if self._table("caption_chunks").schema.equals(wanted):
                return
            self._db.drop_table("caption_chunks")
            self._memory = {k: v for k, v in self._memory.items() if k[0] != "caption_chunks"}
            self._tables.pop("caption_chunks", None)
        self._create("caption_chunks", wanted, keys=("caption_id", "photo_id"))

    def caption_chunk_versions(self) -> dict[str, tuple[str, str]]:
        """caption_id -> (caption version, embedding version) of its stored chunks."""
        if not self._has_table("caption_chunks"):
            return {}
        table = self._scan("caption_chunks", ["caption_id", "caption_version", "version"])
        return {
            cid: (caption_version, version)
            for cid, caption_version, version in zip(
                table.column("caption_id").to_pylist(),
                table.column("caption_version").to_pylist(),
                table.column("version").to_pylist(),
            )
        }

    def replace_caption_chunks(self, caption_ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Drop the chunks of `caption_ids`, then add `rows` (two commits; rerunning repairs either)."""
        self._delete_in("caption_chunks", "caption_id", caption_ids)
        if rows:
            self._table("caption_chunks").add(
                pa.Table.from_pylist(list(rows), schema=self._table("caption_chunks").schema)
            )
            self._wrote("caption_chunks")

    def search_caption_chunks(
        self, vector: Any, *, limit: int, version: str, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float]]:
        """Nearest caption chunks by cosine similarity: (chunk_id, photo_id, similarity), best first."""
        index = self._caption_vectors(version)
        if index is None:
            return []
        return index.nearest(vector, limit, within=within)

    def caption_chunks(self, chunk_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Chunk rows (without vectors) by chunk id."""
        if not self._has_table("caption_chunks"):
            return {}
        rows = self._lookup("caption_chunks", "chunk_id", ["chunk_id", "caption_id", "photo_id", "text"]).rows(
            chunk_ids
        )
        return {row["chunk_id"]: row for row in rows}

    # ----------------------------------------------------------------- search

    def search_files(
        self, terms: Sequence[str], *, limit: int, require_all: bool = False, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float, float]]:
        """BM25 over file names, folders and camera terms: (path, photo id, score, coverage), best first."""
        index = self._keyword_index("files", "terms", "path", None)
        hits = index.search(list(terms), limit, require_all=require_all, within=within)
        return [(index.key(row), index.photo(row), score, coverage) for row, score, coverage in hits]

    def search_captions(
        self, terms: Sequence[str], *, limit: int, require_all: bool = False, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float, float]]:
        """BM25 over done captions: (caption_id, photo_id, score, coverage), best first."""
        index = self._keyword_index("captions", "terms", "caption_id", "status = 'done'")
        hits = index.search(list(terms), limit, require_all=require_all, within=within)
        return [(index.key(row), index.photo(row), score, coverage) for row, score, coverage in hits]

    def search_channel(
        self,
        channel: str,
        column: str,
        terms: Sequence[str],
        *,
        limit: int,
        require_all: bool = False,
        within: PhotoSet | None = None,
    ) -> list[tuple[str, float, float]]:
        """BM25 over a channel's tokenized text column (done rows only): (photo id, score, coverage),
        best first (coverage: see KeywordIndex.search)."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return []
        index = self._keyword_index(name, column, "photo_id", "status = 'done'")
        hits = index.search(list(terms), limit, require_all=require_all, within=within)
        return [(index.key(row), score, coverage) for row, score, coverage in hits]

    def search_channel_grams(
        self, channel: str, column: str, grams: Sequence[str], *, limit: int, within: PhotoSet | None = None
    ) -> list[tuple[str, float, float]]:
        """BM25 over the three-letter pieces of a channel's text column (text.fuzzy.grams): the
        candidates of tolerant matching, (photo id, score, coverage), best first."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return []
        index = self._keyword_index(name, column, "photo_id", "status = 'done'", grams=True)
        hits = index.search(list(grams), limit, within=within)
        return [(index.key(row), score, coverage) for row, score, coverage in hits]

    def search_vectors(
        self, channel: str, column: str, vector: Any, *, limit: int, version: str, within: PhotoSet | None = None
    ) -> list[tuple[str, float]]:
        """Nearest done rows of one model version by cosine similarity: (photo id, similarity), best first."""
        index = self._channel_vectors(channel, column, version)
        if index is None:
            return []
        return [(key, score) for key, _, score in index.nearest(vector, limit, within=within)]

    def count_vectors(self, channel: str, column: str, version: str) -> int:
        """How many done rows of a channel have vectors from this model version (from memory)."""
        index = self._channel_vectors(channel, column, version)
        return len(index) if index is not None else 0

    def count_caption_vectors(self, version: str) -> int:
        """How many caption chunks have vectors from this embedding model (from memory)."""
        index = self._caption_vectors(version)
        return len(index) if index is not None else 0

    def _channel_vectors(self, channel: str, column: str, version: str) -> VectorIndex | DiskVectorIndex | None:
        """The done rows' vectors of one model version, or None without the channel's table."""
        name = _CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return None
        return self._vector_index(name, column, "photo_id", f"status = 'done' AND version = {sql_string(version)}")

    def _caption_vectors(self, version: str) -> VectorIndex | DiskVectorIndex | None:
        """The caption chunks' vectors of one embedding model, or None before any caption was embedded."""
        if not self._has_table("caption_chunks"):
            return None
        return self._vector_index("caption_chunks", "vector", "chunk_id", f"version = {sql_string(version)}")

    def photo_facts(self) -> PhotoFacts:
        """Date, position, camera, text and files of every photo, as arrays (from memory)."""
        photos = self._in_memory("photos", ("facts",), self._photo_columns)
        files = self._in_memory("files", ("paths",), lambda: self._scan("files", ["path", "photo_id"]))
        ocr = _CHANNEL_PREFIX + "ocr"
        texted = (
            self._in_memory(ocr, ("texted",), lambda: self._scan(ocr, ["photo_id"], "status = 'done' AND text != ''"))
            if self._has_table(ocr)
            else None
        )
        key = (id(photos), id(files), id(texted))
        if self._facts is None or self._facts[0] != key:
            self._facts = (key, _facts(photos, files, texted))
        return self._facts[1]

    def _photo_columns(self) -> pa.Table:
        table = self._scan(
            "photos", ["photo_id", "taken_at", "latitude", "longitude", "camera_make", "camera_model", "lens"]
        )
        return table.sort_by("photo_id")

    def _lookup(self, name: str, key: str, columns: Sequence[str]) -> RowLookup:
        columns = list(dict.fromkeys([key, *columns]))
        return self._in_memory(name, ("rows", key, tuple(columns)), lambda: RowLookup(self._scan(name, columns), key))

    def _keyword_index(
        self, name: str, column: str, key: str, where: str | None, *, grams: bool = False
    ) -> KeywordIndex:
        """BM25 over a column of terms, or (`grams`) over the three-letter pieces of a text column."""

        def build() -> KeywordIndex:
            table = self._scan(name, list(dict.fromkeys([key, "photo_id", column])), where)
            photo_ids = _strings(table, "photo_id")
            keys = photo_ids if key == "photo_id" else _strings(table, key)
            values = table.column(column).combine_chunks()
            if grams:
                return KeywordIndex(keys, photo_ids, pa.array([fuzzy.grams(text or "") for text in values.to_pylist()]))
            return KeywordIndex(keys, photo_ids, values, fold=search_form)

        return self._in_memory(name, (column, where, "grams" if grams else "terms"), build)

    def _vector_index(self, name: str, column: str, key: str, where: str) -> VectorIndex | DiskVectorIndex:
        """The rows' vectors in memory, or, for a table beyond memory_max_rows with an approximate
        index (shashin optimize), that index on disk."""
        tuning = self.search_tuning

        def build() -> VectorIndex | DiskVectorIndex:
            table = self._table(name)
            index = ann.vector_index(table, column) if tuning.memory_max_rows else None
            if index is not None:
                rows = table.count_rows(where)
                if rows > tuning.memory_max_rows:
                    try:
                        table.prewarm_index(index.name)  # its partitions into Lance's cache before the first query
                    except Exception:
                        pass
                    total = table.count_rows()
                    chosen = ann.plan(total, table.schema.field(column).type.list_size)
                    hnsw = "HNSW" in index.index_type.upper()
                    return DiskVectorIndex(
                        # When every row qualifies (the usual case: all done, one model), no filter:
                        # a prefilter is evaluated over the whole table on every query (40 ms at 1M).
                        table,
                        column,
                        key,
                        where if rows < total else None,
                        rows,
                        nprobe=tuning.nprobe or ann.default_nprobe(chosen),
                        refine=0 if hnsw else tuning.refine,
                        hnsw=hnsw,
                    )
            return in_memory()

        def in_memory() -> VectorIndex:
            table = self._scan(name, list(dict.fromkeys([key, "photo_id", column])), where)
            values = table.column(column).combine_chunks()
            dimensions = values.type.list_size if len(values) else 0
            vectors = values.flatten().to_numpy(zero_copy_only=False).reshape(len(values), dimensions)
            photo_ids = _strings(table, "photo_id")
            return VectorIndex(
                photo_ids if key == "photo_id" else _strings(table, key),
                photo_ids,
                vectors,
                ann_min_rows=self.search_tuning.ann_min_rows,
                nprobe=self.search_tuning.nprobe,
            )

        return self._in_memory(name, (column, where), build)

    def _in_memory(self, name: str, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The structure `build` makes from table `name`, rebuilt when the table has a new version.

        Versions are rechecked at most every _RECHECK_SECONDS, so a query touching several
        channels pays for the check once and readers see other processes' writes within that."""
        cached = self._memory.get((name, key))
        now = time.monotonic()
        if cached is not None and now - cached.checked_at < _RECHECK_SECONDS:
            return cached.value
        with self._building_lock(name, key):  # concurrent searches build each structure once
            cached = self._memory.get((name, key))
            if cached is not None and now - cached.checked_at < _RECHECK_SECONDS:
                return cached.value
            version = self._table(name).version
            if cached is None or cached.version != version:
                cached = self._memory[(name, key)] = Cached(version, build())
            cached.checked_at = now
            return cached.value

    def _building_lock(self, name: str, key: tuple[Any, ...]) -> threading.Lock:
        with self._locks_lock:
            return self._build_locks.setdefault((name, key), threading.Lock())

    # ----------------------------------------------------------------- maintenance

    def optimize(self) -> None:
        """Compact small commits, fold new rows into the search indexes (full-text, key and vector
        indexes alike), drop old versions."""
        for name in self._table_names():
            self._table(name).optimize(cleanup_older_than=_KEEP_OLD_VERSIONS)

    def vector_columns(self) -> list[tuple[str, str]]:
        """(table, column) of every vector column in the library (image vectors, caption chunks)."""
        found = []
        for name in self._table_names():
            for field in self._table(name).schema:
                if pa.types.is_fixed_size_list(field.type) and pa.types.is_floating(field.type.value_type):
                    found.append((name, field.name))
        return found

    def build_vector_indexes(self, *, min_rows: int, rebuild: bool = False) -> list[VectorIndexReport]:
        """Build or refresh the approximate index of every vector column with at least `min_rows` rows.

        A column without an index gets one (kind by size: ann.plan); one whose index covers too few
        of its rows (more than ann.STALE_SHARE added since it was trained) is retrained; otherwise
        the new rows were already folded in by optimize()."""
        reports = []
        for name, column in self.vector_columns():
            table = self._table(name)
            rows = table.count_rows()
            if rows < max(1, min_rows):
                reports.append(VectorIndexReport(name, column, rows, "skipped"))
                continue
            existing = ann.vector_index(table, column)
            if existing is not None and not rebuild:
                indexed, unindexed = ann.coverage(table, existing)
                if unindexed <= ann.STALE_SHARE * max(indexed, 1):
                    reports.append(VectorIndexReport(name, column, rows, "updated", existing.index_type))
                    continue
            chosen = ann.plan(rows, table.schema.field(column).type.list_size)
            started = time.monotonic()
            table.create_index(column, config=chosen.config(), replace=True)
            self._wrote(name)
            action = "built" if existing is None else "rebuilt"
            reports.append(VectorIndexReport(name, column, rows, action, chosen.kind, time.monotonic() - started))
        return reports

    # ----------------------------------------------------------------- health

    def check_tables(self) -> list[TableHealth]:
        """Read every row of every table (in batches, every column) and say which cannot be read."""
        found = []
        for name in sorted(self._table_names()):
            rows = unreadable = 0
            problem = None
            try:
                fragments = self._table(name).to_lance().get_fragments()
            except Exception as exc:
                found.append(TableHealth(name, 0, 0, _first_line(str(exc)), name in _CORE_TABLES))
                continue
            for fragment in fragments:
                try:
                    for batch in fragment.to_batches(batch_size=4096):
                        rows += batch.num_rows
                except Exception as exc:
                    unreadable += _fragment_rows(fragment)
                    problem = problem or _first_line(str(exc))
            found.append(TableHealth(name, rows, unreadable, problem, name in _CORE_TABLES))
        return found

    def damaged_tables(self) -> list[str]:
        """Tables with a data file that is gone or does not end as a Lance file does: what a quick
        look finds (no rows read; `check_tables` reads them all). Local libraries only."""
        if self.remote:
            return []
        damaged = []
        for name in sorted(self._table_names()):
            try:
                dataset = self._table(name).to_lance()
                folder = os.path.join(dataset.uri, "data")
                files = [os.path.join(folder, data.path) for f in dataset.get_fragments() for data in f.data_files()]
            except Exception:
                damaged.append(name)
                continue
            if not all(_ends_as_lance(path) for path in files):
                damaged.append(name)
        return damaged

    def salvage(self, name: str) -> int:
        """Rewrite a damaged table with the rows that can still be read (a table of recomputable
        outputs is dropped instead: `index` computes it again); returns the rows that were lost."""
        if name not in _CORE_TABLES:
            self._db.drop_table(name)
            self._forget_table(name)
            return 0
        kept: list[pa.Table] = []
        lost = 0
        for fragment in self._table(name).to_lance().get_fragments():
            try:
                kept.append(fragment.to_table())
            except Exception:
                lost += _fragment_rows(fragment)
        layout, fts, keys = _CORE_TABLES[name]
        rows = pa.concat_tables([t.select(layout.names).cast(layout) for t in kept]) if kept else layout.empty_table()
        self._db.drop_table(name)
        self._forget_table(name)
        self._create(name, layout, fts=fts, keys=keys)
        if rows.num_rows:
            self._table(name).add(rows)
        self._wrote(name)
        return lost

    def detach_missing_photos(self) -> int:
        """Forget file rows whose photo row is gone (after a salvage): the next index run finds the
        files as new photos again, with the same ids, so their outputs and captions still apply."""
        files = self._scan("files", ["path", "photo_id"])
        missing = [
            path
            for path, pid in zip(*(files.column(c).to_pylist() for c in ("path", "photo_id")))
            if pid not in self.photo_ids()
        ]
        self.delete_files(missing)
        return len(missing)

    def thumbnail_ids(self) -> set[str] | None:
        """Ids of the photos that have a thumbnail file; None on object storage, where listing a
        million thumbnails costs minutes (`shashin check` does it there)."""
        if self.remote:
            return None
        return self.listed_thumbnail_ids()

    def listed_thumbnail_ids(self) -> set[str]:
        """Ids of the photos that have a thumbnail file, from a listing of the thumbnails folder."""
        root = storage.join(self.root, "thumbnails")
        if self.remote:
            names = (
                [storage.basename(path) for path, _, _ in storage.list_files(root)] if storage.is_folder(root) else []
            )
        else:
            names = [name for _, _, files in os.walk(root) for name in files]
        return {name[: -len(".webp")] for name in names if name.endswith(".webp")}

    def forget_sources(self, photo_ids: Iterable[str]) -> None:
        """Mark photos to be read again by the next index run (metadata, thumbnail, fingerprint)."""
        ids = list(photo_ids)
        if ids:
            photos = self.get_photos(ids)
            self.put_photos([{**row, "source_hash": None} for row in photos.values()])

    def _forget_table(self, name: str) -> None:
        self._tables.pop(name, None)
        self._memory = {k: v for k, v in self._memory.items() if k[0] != name}

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the library's writer lock: one indexing process at a time (workers it starts
        write under its lock). A file lock locally; a lease table on object storage."""
        if self.remote:
            with _Lease(self):
                yield
            return
        lock_path = os.path.join(self.root, "writer.lock")
        try:
            handle = open(lock_path, "a+")
        except OSError as exc:
            raise _plain(self, exc) or StoreError(
                f"cannot take the writer lock {lock_path}: {exc.strerror or exc}"
            ) from exc
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise StoreBusy(
                    f"another shashin process (pid {holder}) is writing to {self.root}; wait for it to finish"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()


_LEASE_TABLE = "writer_lease"
_LEASE_BEAT = 20.0  # seconds between a holder's heartbeats
_LEASE_STALE = 120.0  # a lease without a heartbeat for this long was left by a crashed writer


class _Lease:
    """The writer lock on object storage, where there are no file locks: a small Lance table whose
    creation is atomic (a conditional PUT of its first version: of two writers creating it at once,
    one fails). The holder refreshes a heartbeat; a lease left stale by a crashed holder is taken over."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> _Lease:
        db = self.store._db
        for attempt in range(2):
            try:
                db.create_table(_LEASE_TABLE, data=self._row())
                break
            except Exception:  # exists, or lost the race to create it
                current = self._current()
                if current is not None and (_now() - current["heartbeat"]).total_seconds() < _LEASE_STALE:
                    raise StoreBusy(
                        f"another shashin process ({current['holder']}, since {current['since']:%Y-%m-%d %H:%M:%S} UTC) "
                        f"is writing to {self.store.root}; wait for it to finish"
                    ) from None
                if attempt:
                    raise StoreBusy(f"could not take the writer lease of {self.store.root}; try again") from None
                try:
                    db.drop_table(_LEASE_TABLE)  # stale: its holder died without releasing it
                except Exception:
                    pass
        self._beat = threading.Thread(target=self._heartbeat, name="shashin-lease", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        current = self._current()
        if current is not None and current["holder"] == self.holder:
            with suppress(Exception):
                self.store._db.drop_table(_LEASE_TABLE)

    def _row(self) -> pa.Table:
        now = _now()
        return pa.table({"holder": [self.holder], "since": [now], "heartbeat": [now]})

    def _current(self) -> dict[str, Any] | None:
        try:
            rows = self.store._db.open_table(_LEASE_TABLE).to_arrow().to_pylist()
        except Exception:
            return None
        return rows[0] if rows else None

    def _heartbeat(self) -> None:
        beats = 0
        while not self._stop.wait(_LEASE_BEAT):
            beats += 1
            try:
                table = self.store._db.open_table(_LEASE_TABLE)
                table.update(where=f"holder = {sql_string(self.holder)}", values={"heartbeat": _now()})
                if beats % 90 == 0:  # every half hour: a days-long run leaves no pile of lease versions
                    table.optimize(cleanup_older_than=timedelta(minutes=5))
            except Exception:
                pass  # a missed beat; the next one retries


def _thumbnail_parts(photo_id: str) -> tuple[str, str, str]:
    """A thumbnail's place under the library: thumbnails/<first two hex digits>/<id>.webp."""
    return ("thumbnails", photo_id[:2], f"{photo_id}.webp")


def _json_value(value: Any) -> Any:
    """Values JSON does not know (timestamps), as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _table_names(db: Any) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = db.list_tables(page_token=token) if token else db.list_tables()
        names.extend(page.tables)
        token = page.page_token
        if not token:
            return names


def _facts(photos: pa.Table, files: pa.Table, texted: pa.Table | None) -> PhotoFacts:
    ids = _strings(photos, "photo_id")
    camera = [
        " ".join(part for part in parts if part).casefold()
        for parts in zip(*(photos.column(c).to_pylist() for c in ("camera_make", "camera_model", "lens")))
    ]
    file_photo_ids = _strings(files, "photo_id")
    positions = np.searchsorted(ids, file_photo_ids) if len(ids) else np.zeros(len(file_photo_ids), np.int64)
    known = positions < len(ids)
    known[known] = ids[positions[known]] == file_photo_ids[known]
    texted_ids = _strings(texted, "photo_id") if texted is not None else np.array([], dtype="S1")
    return PhotoFacts(
        ids=ids,
        taken_at=photos.column("taken_at").to_numpy(zero_copy_only=False).astype("datetime64[s]"),
        latitude=photos.column("latitude").to_numpy(zero_copy_only=False).astype(np.float64),
        longitude=photos.column("longitude").to_numpy(zero_copy_only=False).astype(np.float64),
        camera=np.asarray(camera, dtype=object),
        has_text=np.isin(ids, texted_ids),
        file_paths=np.asarray(files.column("path").to_pylist(), dtype=object)[known],
        file_photos=positions[known],
    )


def _strings(table: pa.Table, column: str) -> np.ndarray:
    """A string column as the in-memory indexes key rows by (numpy bytes, see memory.encode)."""
    return encode_column(table.column(column))


def _in_clause(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(sql_string(v) for v in values)})"
