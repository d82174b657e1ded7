"""A library: LanceDB tables under <db>/tables, thumbnails under <db>/thumbnails, where <db> is a
local folder or an object-storage prefix (s3://bucket/prefix, gs://, az://).

Every write is one Lance commit (atomic): a process killed at any moment leaves the last
committed state, which always opens. Callers order their writes so that any prefix of them
is a consistent state (see ingest/pipeline.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

from shashin import __version__, storage
from shashin.store import catalogue, schema
from shashin.store.changes import ChangeLog
from shashin.store.common import (
    CORE_TABLES,
    table_names_of,
)
from shashin.store.errors import (
    StoreError,
    in_plain_words,
    plain_error,
)
from shashin.store.lock import WriterLock
from shashin.store.memory import Cached, PhotoFacts
from shashin.store.persisted import SearchCache
from shashin.store.records import (
    SearchTuning,
)


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


def _add_tags(store: Store) -> None:
    store._create("tags", schema.TAGS, keys=("tag_id", "photo_id"))


def _add_people(store: Store) -> None:
    store._create("faces", schema.FACES, keys=("face_id", "photo_id"))
    store._create("people", schema.PEOPLE, keys=("person_id",))


def _any_length_descriptors(store: Store) -> None:
    # A metadata change in Lance: the stored numbers stay, their column takes any length.
    store._table("faces").alter_columns({"path": "descriptor", "data_type": schema.FACES.field("descriptor").type})


# Migrations from schema version N to N+1, applied in order when an older library is opened.
MIGRATIONS: dict[int, Callable[[Store], None]] = {
    1: _add_captions,
    2: _add_fingerprints,
    3: _add_tags,
    4: _add_people,
    5: _any_length_descriptors,
}


@in_plain_words
class Store(WriterLock):
    """One library: the photos, files, errors and channel outputs of one --db folder.

    Built from one class per job (store/core.py → library_tables → channel_tables → search_indexes
    → maintenance → lock); store/contract.py says what the rest of shashin relies on."""

    def __init__(self, root: str | Path, *, create: bool = True, quick: bool = False) -> None:
        """Open (or with `create`, make) the library at `root`. `quick`: for a short-lived reader
        (a CLI search) — when the catalogue agrees with the tables, search from the saved
        structures at those versions without opening LanceDB (store/catalogue.py); LanceDB is
        still opened the moment anything else is asked."""
        try:
            self.root = storage.normalize(str(root))
        except storage.StorageError as exc:
            raise StoreError(str(exc)) from None
        self.remote = storage.is_remote(self.root)
        self._connection: Any = None
        self._connect_lock = threading.RLock()
        self._create_if_missing = create
        self._frozen = (
            catalogue.current(Path(self.root), schema.SCHEMA_VERSION)
            if quick and not create and not self.remote
            else None
        )
        if self._frozen is None:
            self._connection = self._opened_connection()
        self._tables: dict[str, Any] = {}
        self._memory: dict[tuple[str, Any], Cached] = {}
        self._build_locks: dict[tuple[str, Any], threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._facts: tuple[tuple[int, ...], PhotoFacts] | None = None
        self._listed: tuple[float, frozenset[str]] | None = None
        # Search structures on disk beside the tables (local libraries; a bucket keeps them in memory).
        self._search_cache = None if self.remote else SearchCache(Path(self.root) / "search")
        self._changes = None if self.remote else ChangeLog(Path(self.root) / "search" / "changes")
        self._incarnations: dict[str, tuple[Any, str]] = {}
        self._stamps: dict[str, tuple[tuple[int, int], int]] = {}
        self.search_tuning = SearchTuning()
        if self._frozen is not None:
            return  # the catalogue vouched for a finished library at the current schema
        self._open_tables()

    @property
    def _db(self) -> Any:
        """The LanceDB connection, opened on first use by a quick reader."""
        if self._connection is None:
            with self._connect_lock:
                if self._connection is None:
                    self._connection = self._opened_connection()
                    self._frozen = None  # from now on versions come from the tables themselves
                    self._open_tables()
        return self._connection

    def _opened_connection(self) -> Any:
        try:
            return self._connect(self._create_if_missing)
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(
                f"cannot open library {self.root}: {str(exc).splitlines()[0] if str(exc) else exc}"
            ) from exc

    def _open_tables(self) -> None:
        try:
            self._open_core_tables(self._create_if_missing)
            if not self.remote:
                self._seed_catalogue()
        except (OSError, RuntimeError, ValueError) as exc:
            translated = plain_error(self, exc)
            if translated is None:
                raise
            raise translated from exc

    def _seed_catalogue(self) -> None:
        """Write the catalogue from the tables when it does not agree with them (a library from
        before catalogues, or after commits that were not logged), so quick readers can use it."""
        root = Path(self.root)
        if catalogue.current(root, schema.SCHEMA_VERSION) is not None:
            return
        tables = {name: (self._version(name), self._incarnation(name)) for name in self._table_names()}
        catalogue.replace(root, tables, schema.SCHEMA_VERSION)

    def _connect(self, create: bool) -> Any:
        import lancedb

        from shashin.store.lancedb_import import defer_rest_client

        defer_rest_client()
        tables = storage.join(self.root, "tables")
        if self.remote:
            db = lancedb.connect(tables, read_consistency_interval=timedelta(0))
            if "meta" not in table_names_of(db):
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
            for name, (layout, fts, keys) in CORE_TABLES.items():
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


if TYPE_CHECKING:  # mypy checks here that Store provides every method of the contract
    from shashin.store.contract import LibraryStore

    _CONFORMS: type[LibraryStore] = Store
