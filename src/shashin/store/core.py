"""The store's primitives: tables by name, scans, keyed upserts and deletes, in-memory copies."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa
from lancedb.index import FTS, BTree

from shashin.store.common import (
    _CHANNEL_PREFIX,
    _IN_CHUNK,
    _LEASE_TABLE,
    _RECHECK_SECONDS,
    _in_clause,
    _table_names,
)
from shashin.store.memory import Cached, PhotoFacts, RowLookup
from shashin.store.persisted import Persist, SearchCache
from shashin.store.records import (
    SearchTuning,
)

_ROWS: Persist[RowLookup] = Persist(RowLookup.arrays, RowLookup.opened)


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
    search_tuning: SearchTuning

    def _table_names(self) -> list[str]:
        names = [name for name in _table_names(self._db) if name != _LEASE_TABLE]
        self._listed = (time.monotonic(), frozenset(names))
        return names

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
        listed = self._listed
        if listed is not None and time.monotonic() - listed[0] < _RECHECK_SECONDS and name not in listed[1]:
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

    def _in_memory(
        self, name: str, key: tuple[Any, ...], build: Callable[[], Any], persist: Persist[Any] | None = None
    ) -> Any:
        """The structure `build` makes from table `name`, rebuilt when the table has a new version.

        Versions are rechecked at most every _RECHECK_SECONDS, so a query touching several
        channels pays for the check once and readers see other processes' writes within that.
        With `persist`, a version's structure is saved beside the tables once and opened
        memory-mapped by every later process (store/persisted.py)."""
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
                cached = self._memory[(name, key)] = Cached(version, self._made(name, key, version, build, persist))
            cached.checked_at = now
            return cached.value

    def _made(
        self, name: str, key: tuple[Any, ...], version: int, build: Callable[[], Any], persist: Persist[Any] | None
    ) -> Any:
        """The structure for one table version: opened from the search cache, or built (and saved)."""
        cache = self._search_cache
        if persist is None or cache is None:
            return build()
        saved = cache.open(name, key, version)
        if saved is not None:
            try:
                return persist.opened(saved)
            except (KeyError, ValueError, TypeError):
                pass  # saved by another format: built again below
        value = build()
        arrays = persist.arrays(value)
        if arrays is not None:  # None: a kind that is not stored (over Lance's own on-disk index)
            cache.save(name, key, version, arrays)
        return value

    def _building_lock(self, name: str, key: tuple[Any, ...]) -> threading.Lock:
        with self._locks_lock:
            return self._build_locks.setdefault((name, key), threading.Lock())

    def _lookup(self, name: str, key: str, columns: Sequence[str]) -> RowLookup:
        columns = list(dict.fromkeys([key, *columns]))
        return self._in_memory(
            name, ("rows", key, tuple(columns)), lambda: RowLookup(self._scan(name, columns), key), _ROWS
        )

    def channel_tables(self) -> list[str]:
        return [name for name in self._table_names() if name.startswith(_CHANNEL_PREFIX)]
