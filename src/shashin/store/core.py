"""The store's primitives: tables by name, scans, keyed upserts and deletes, in-memory copies."""

from __future__ import annotations

import functools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa

from shashin.store import catalogue
from shashin.store.changes import ChangeLog
from shashin.store.common import (
    CHANNEL_PREFIX,
    IN_CHUNK,
    LEASE_TABLE,
    RECHECK_SECONDS,
    in_clause,
    table_names_of,
)
from shashin.store.memory import Cached, PhotoFacts, RowLookup, Segment, SegmentedRows
from shashin.store.persisted import Persist, SearchCache
from shashin.store.records import (
    SearchTuning,
)
from shashin.store.schema import SCHEMA_VERSION
from shashin.store.segments import persist_of, update_rows

_INCARNATION = b"shashin.incarnation"
_SETTLED_NS = 1_000_000_000  # a version folder changed longer ago than this is trusted by its stat

_ROWS = persist_of(RowLookup, SegmentedRows, RowLookup.opened, update_rows)


_DELTA = threading.local()  # per thread: table -> the version a structure's update counts from


def _content(fragment: Any) -> tuple[Any, ...]:
    """What a Lance fragment holds besides its deletions: its data files and overlays."""
    metadata = fragment.metadata
    return tuple(f.path for f in metadata.files), repr(getattr(metadata, "overlays", None))


def _scan_fragments(columns: Sequence[str], filters: list[str], dataset: Any, fragments: list[Any]) -> pa.Table:
    """The rows each filter selects, read from just the given fragments of a Lance dataset: a
    delta of 1,000 rows of a million from the fragments that hold them (a scan of the whole
    table cost 0.2 s at 1M photos)."""
    wanted = list(dict.fromkeys(columns))
    if not fragments or not filters:
        return pa.schema([dataset.schema.field(c) for c in wanted]).empty_table()
    return pa.concat_tables(
        [dataset.scanner(columns=wanted, filter=clause, fragments=fragments).to_table() for clause in filters]
    )


def _both(where: str | None, clause: str) -> str:
    return f"({where}) AND {clause}" if where else clause


class StoreCore:
    """Tables of one library and the generic reads and writes every other part builds on."""

    root: str
    remote: bool
    _db: Any
    _tables: dict[str, Any]
    _memory: dict[tuple[str, Any], Cached]
    _build_locks: dict[tuple[str, Any], threading.Lock]
    _locks_lock: threading.Lock
    _facts: tuple[tuple[int, ...], PhotoFacts] | None
    _listed: tuple[float, frozenset[str]] | None  # when the table names were last listed, and them
    _search_cache: SearchCache | None
    _changes: ChangeLog | None
    _incarnations: dict[str, tuple[Any, str]]  # table name -> (the Table object read, its incarnation)
    _stamps: dict[str, tuple[tuple[int, int], int]]  # table name -> (its version folder's stat, version)
    _frozen: dict[str, tuple[int, str]] | None  # a quick reader's versions (store/catalogue.py)
    search_tuning: SearchTuning

    def _table_names(self) -> list[str]:
        frozen = self._frozen
        if frozen is not None:
            return list(frozen)
        names = [name for name in table_names_of(self._db) if name != LEASE_TABLE]
        self._listed = (time.monotonic(), frozenset(names))
        return names

    def _create(self, name: str, table_schema: pa.Schema, fts: Sequence[str] = (), keys: Sequence[str] = ()) -> Any:
        # A table dropped and made again starts its versions at 1 again: the incarnation, kept in
        # its schema's metadata, tells saved search structures and change logs of the two apart.
        incarnation = {_INCARNATION: uuid.uuid4().hex.encode()}
        marked = table_schema.with_metadata({**(table_schema.metadata or {}), **incarnation})
        if name in table_names_of(self._db):  # an unfinished library's table: made already
            table = self._db.open_table(name)
            if not table.schema.equals(table_schema):
                raise ValueError(f"table {name} exists with another schema")
        else:
            if not self.remote:  # made (again): not to be trusted by quick readers until a logged write
                catalogue.note(Path(self.root), name, None, "", SCHEMA_VERSION)
            try:
                table = self._db.create_table(name, schema=marked)
            except ValueError:  # another process made it a moment ago
                table = self._db.open_table(name)
        from lancedb.index import FTS, BTree

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
        frozen = self._frozen
        if frozen is not None:
            return name in frozen
        if name in self._tables:
            return True
        listed = self._listed
        if listed is not None and time.monotonic() - listed[0] < RECHECK_SECONDS and name not in listed[1]:
            return False  # a table a search asks for but the library lacks: not listed again per query
        if name not in self._table_names():
            return False
        try:
            self._table(name)
        except ValueError:  # listed while another process is still creating it
            return False
        return True

    def _scan(self, name: str, columns: Sequence[str], where: str | None = None) -> pa.Table:
        query = self._table(name).search().select(list(columns))
        if where:
            query = query.where(where)
        return query.limit(None).to_arrow()

    def _scan_in(self, name: str, columns: Sequence[str], key: str, values: Iterable[str]) -> pa.Table:
        values = list(dict.fromkeys(values))
        parts = [
            self._scan(name, columns, in_clause(key, values[i : i + IN_CHUNK])) for i in range(0, len(values), IN_CHUNK)
        ]
        return pa.concat_tables(parts) if parts else self._table(name).schema.empty_table().select(list(columns))

    def _upsert(self, name: str, key: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        unique = list({row[key]: row for row in rows}.values())  # one row per key, last wins
        table = self._table(name)
        data = pa.Table.from_pylist(unique, schema=table.schema)
        result = table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)
        self._wrote(name, key, [row[key] for row in unique], result.version)

    def _delete_in(
        self, name: str, key: str, values: Iterable[str], logged_as: Callable[[str], str] | None = None
    ) -> None:
        """Delete the rows whose `key` is one of `values`; `logged_as` maps each value to the photo id
        the change log records instead (for a table whose search structures know photos, not `key`)."""
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), IN_CHUNK):
            chunk = values[i : i + IN_CHUNK]
            result = self._table(name).delete(in_clause(key, chunk))
            if logged_as is None:
                self._wrote(name, key, chunk, result.version)
            else:
                self._wrote(name, "photo_id", [logged_as(value) for value in chunk], result.version)
        if not values:
            self._wrote(name)

    def _wrote(
        self, name: str, column: str | None = None, keys: Sequence[str] = (), version: int | None = None
    ) -> None:
        """This process changed table `name`: its in-memory search structures are rechecked next
        time. With the commit's `version` and the `keys` of `column` it changed, the change is
        logged, so that searchers update their structures instead of rebuilding them (changes.py)."""
        if column is not None and version is not None and self._changes is not None:
            incarnation = self._incarnation(name)
            self._changes.record(incarnation, column, keys, version)
            catalogue.note(Path(self.root), name, version, incarnation, SCHEMA_VERSION)
        for (table, _), cached in self._memory.items():
            if table == name:
                cached.checked_at = float("-inf")

    def _in_memory(
        self, name: str, key: tuple[Any, ...], build: Callable[[], Any], persist: Persist[Any] | None = None
    ) -> Any:
        """The structure `build` makes from table `name`, rebuilt when the table has a new version.

        Versions are rechecked at most every RECHECK_SECONDS, so a query touching several
        channels pays for the check once and readers see other processes' writes within that.
        With `persist`, a version's structure is saved beside the tables once and opened
        memory-mapped by every later process (store/persisted.py)."""
        cached = self._memory.get((name, key))
        now = time.monotonic()
        if cached is not None and now - cached.checked_at < RECHECK_SECONDS:
            return cached.value
        with self._building_lock(name, key):  # concurrent searches build each structure once
            cached = self._memory.get((name, key))
            if cached is not None and now - cached.checked_at < RECHECK_SECONDS:
                return cached.value
            version = self._version(name)
            if cached is None or cached.version != version:
                value = self._made(name, key, version, build, persist, cached)
                cached = self._memory[(name, key)] = Cached(version, value)
            cached.checked_at = now
            return cached.value

    def _made(
        self,
        name: str,
        key: tuple[Any, ...],
        version: int,
        build: Callable[..., Any],
        persist: Persist[Any] | None,
        previous: Cached | None,
    ) -> Any:
        """The structure for one table version: opened from the search cache, brought up to date
        from an older one by the change log, or built (and saved)."""
        cache = self._search_cache
        if persist is None or cache is None:
            return build()
        key = (*key, self._incarnation(name))
        saved = cache.open(name, key, version)
        if saved is not None:
            try:
                return persist.opened(saved)
            except (KeyError, ValueError, TypeError):
                pass  # saved by another format: built again below
        frozen = self._frozen is not None
        value = self._updated(name, key, version, build, persist, previous)
        if value is None:
            value = build()
        arrays = persist.arrays(value)
        # None: a kind that is not stored (over Lance's own on-disk index). A quick reader whose
        # build had to open the tables saves only if no commit came in between.
        if arrays is not None and (not frozen or self._frozen is not None or self._version(name) == version):
            cache.save(name, key, version, arrays)
        return value

    def _updated(
        self,
        name: str,
        key: tuple[Any, ...],
        version: int,
        build: Callable[..., Any],
        persist: Persist[Any],
        previous: Cached | None,
    ) -> Any:
        """The structure of an older version (this process's, else the newest saved) with the rows
        changed since replaced, or None when the change log cannot say which rows those are."""
        if persist.update is None or self._changes is None or self._search_cache is None:
            return None
        base = previous if previous is not None and previous.version < version else None
        if base is None:
            latest = self._search_cache.latest(name, key, below=version)
            if latest is None:
                return None
            try:
                base = Cached(latest[0], persist.opened(latest[1]))
            except (KeyError, ValueError, TypeError):
                return None
        changes = self._changes.since(self._incarnation(name), base.version, version)
        if changes is None:
            return None
        # The rows the update builds anew were all written since the structure's main part was:
        # its scans read only the fragments written (or rewritten) since that version.
        counted_from = base.value.main_version if isinstance(base.value, Segment) else base.version
        delta_scans = _DELTA.__dict__.setdefault("since", {})
        delta_scans[name] = counted_from
        try:
            updated = persist.update(base.value, changes, build)
        finally:
            delta_scans.pop(name, None)
        if isinstance(updated, Segment) and updated is not base.value:
            updated.main_version = counted_from
        return updated

    def _version(self, name: str) -> int:
        """The table's current version (a quick reader: the one the catalogue vouched for). Asking
        LanceDB costs 0.4 ms; a stat of the table's version folder, unchanged since it was last
        asked, says the version is the same in 3 µs."""
        frozen = self._frozen
        if frozen is not None and name in frozen:
            return frozen[name][0]
        stamp = self._version_stamp(name)
        known = self._stamps.get(name)
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        version = int(self._table(name).version)
        if stamp is not None:
            self._stamps[name] = (stamp, version)
        return version

    def _version_stamp(self, name: str) -> tuple[int, int] | None:
        """(inode, modification time) of a local table's folder of versions, which every commit
        adds a file to; None for a library in object storage, or when the folder changed so
        recently that another commit within the file system's clock tick could leave it the same."""
        if self.remote:
            return None
        try:
            found = os.stat(os.path.join(self.root, "tables", f"{name}.lance", "_versions"))
        except OSError:
            return None
        if time.time_ns() - found.st_mtime_ns < _SETTLED_NS:
            return None
        return found.st_ino, found.st_mtime_ns

    def _incarnation(self, name: str) -> str:
        """`name` and which making of that table this is (see _create); tables made before
        incarnations were recorded are "name@"."""
        frozen = self._frozen
        if frozen is not None and name in frozen:
            return frozen[name][1]
        table = self._table(name)
        known = self._incarnations.get(name)
        if known is None or known[0] is not table:
            metadata = table.schema.metadata or {}
            known = self._incarnations[name] = (table, metadata.get(_INCARNATION, b"").decode())
        return f"{name}@{known[1]}"

    def _scan_rows(
        self, name: str, columns: Sequence[str], where: str | None, only: tuple[str, list[str]] | None = None
    ) -> pa.Table:
        """_scan(), or with `only` = (column, keys) just the rows whose column holds one of the keys."""
        if only is None:
            return self._scan(name, columns, where)
        column, keys = only
        filters = [_both(where, in_clause(column, keys[i : i + IN_CHUNK])) for i in range(0, len(keys), IN_CHUNK)]
        written = self._written_since(name)
        if written is not None:
            return _scan_fragments(columns, filters, *written)
        parts = [self._scan(name, columns, clause) for clause in filters]
        return pa.concat_tables(parts) if parts else self._scan(name, columns, "false")

    def _written_since(self, name: str) -> tuple[Any, list[Any]] | None:
        """While a structure of `name` is brought up to date (see _updated): the table as a Lance
        dataset and its fragments that can hold rows written since the version the update counts
        from: new ones, and ones whose data files changed (a fragment that only lost rows holds
        nothing new). None when that version cannot be read (cleaned up): scan every fragment."""
        since = getattr(_DELTA, "since", {}).get(name)
        if since is None:
            return None
        try:
            dataset = self._table(name).to_lance()
            before = {f.fragment_id: _content(f) for f in dataset.checkout_version(since).get_fragments()}
            return dataset, [f for f in dataset.get_fragments() if before.get(f.fragment_id) != _content(f)]
        except Exception:  # any failure: the plain scan is always right
            return None

    def _building_lock(self, name: str, key: tuple[Any, ...]) -> threading.Lock:
        with self._locks_lock:
            return self._build_locks.setdefault((name, key), threading.Lock())

    def _lookup(self, name: str, key: str, columns: Sequence[str]) -> RowLookup | SegmentedRows:
        columns = list(dict.fromkeys([key, *columns]))
        return self._in_memory(
            name,
            ("rows", key, tuple(columns)),
            functools.partial(self._row_lookup, name, columns, key),
            _ROWS,
        )

    def _row_lookup(
        self, name: str, columns: Sequence[str], key: str, only: tuple[str, list[str]] | None = None
    ) -> RowLookup:
        return RowLookup(self._scan_rows(name, columns, None, only), key)

    def channel_tables(self) -> list[str]:
        return [name for name in self._table_names() if name.startswith(CHANNEL_PREFIX)]
