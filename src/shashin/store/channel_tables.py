"""Channel outputs: one row per photo (a channel's table) and many per photo (captions and their chunks)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa

from shashin.store import schema
from shashin.store.common import (
    CHANNEL_PREFIX,
    MANY_PER_PHOTO,
    column_of,
    equal_to,
    sql_string,
    utc_now,
)
from shashin.store.library_tables import LibraryTables
from shashin.store.rows import caption_photo


class ChannelTables(LibraryTables):
    """Per-channel tables and the many-rows-per-photo tables."""

    def ensure_channel(self, channel: str, payload: Sequence[pa.Field], fts: Sequence[str] = ()) -> None:
        """Create the channel's table, or rebuild it if its layout changed (its rows are recomputable)."""
        name = CHANNEL_PREFIX + channel
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
        name = CHANNEL_PREFIX + channel
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
        now = utc_now()
        self._upsert(CHANNEL_PREFIX + channel, "photo_id", [{**row, "updated_at": now} for row in rows])

    def channel_rows(
        self, channel: str, photo_ids: Iterable[str], columns: Sequence[str], *, from_memory: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Selected columns of a channel's rows, by photo id; `from_memory` (search) keeps those
        columns of the whole table in memory."""
        name = CHANNEL_PREFIX + channel
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
        name = CHANNEL_PREFIX + channel
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
        name = CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return []
        where = [equal_to(status="done", version=version)]
        where += [f"{column_of(column)} IS NOT NULL" for column in present]
        if stale is not None:
            column, value = column_of(stale[0]), sql_string(stale[1])
            where.append(f"({column} IS NULL OR {column} != {value})")
        return self._scan(name, columns, " AND ".join(where)).to_pylist()

    def count_channel(self, channel: str, version: str, status: str) -> int:
        """How many photos have a row with this version and status."""
        name = CHANNEL_PREFIX + channel
        if not self._has_table(name):
            return 0
        return self._table(name).count_rows(f"version = {sql_string(version)} AND status = {sql_string(status)}")

    # ----------------------------------------------------------------- rows many per photo

    def put_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace rows of a many-per-photo table by its key (one commit), stamped now."""
        now = utc_now()
        self._upsert(table, MANY_PER_PHOTO[table].key, [{"created_at": now, **row} for row in rows])

    def rows_of(
        self, table: str, photo_ids: Iterable[str], *, from_memory: bool = False
    ) -> dict[str, list[dict[str, Any]]]:
        """Every row of each photo in a many-per-photo table, by photo id; `from_memory` (search)
        gives the table's shown columns from the in-memory copy."""
        if from_memory:
            rows = self._lookup(table, "photo_id", MANY_PER_PHOTO[table].shown).rows(photo_ids)
        else:
            rows = self._scan_in(table, self._table(table).schema.names, "photo_id", photo_ids).to_pylist()
        result: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            result.setdefault(row["photo_id"], []).append(row)
        return result

    def delete_rows_of(self, table: str, photo_ids: Iterable[str]) -> None:
        """Delete every row of these photos from a many-per-photo table (one commit)."""
        self._delete_in(table, "photo_id", photo_ids)

    def delete_rows(self, table: str, keys: Iterable[str]) -> None:
        """Delete rows of a many-per-photo table by its key (one commit)."""
        self._delete_in(table, MANY_PER_PHOTO[table].key, keys)

    def rows_table(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Every row of a many-per-photo table as Arrow (all columns, or these)."""
        return self._scan(table, list(columns) if columns else self._table(table).schema.names)

    def all_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a many-per-photo table."""
        return self._scan(table, self._table(table).schema.names).to_pylist()

    # ----------------------------------------------------------------- captions

    def put_captions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace captions by caption_id (one commit)."""
        self.put_rows("captions", rows)

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
        where = equal_to(status=status, source=source, prompt_set=prompt_set, caption_id=caption_id) or None
        return self._scan("captions", list(columns or schema.CAPTIONS.names), where).to_pylist()

    def captions_for(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, list[dict[str, Any]]]:
        """Every caption of each photo, by photo id. `from_memory` (search) gives only the columns
        search shows: caption_id, photo_id, prompt_set, lang, text, status, source."""
        return self.rows_of("captions", photo_ids, from_memory=from_memory)

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
        # Logged by photo: the chunks' search structures know photos and chunks, not captions.
        self._delete_in("caption_chunks", "caption_id", caption_ids, logged_as=caption_photo)
        if rows:
            added = self._table("caption_chunks").add(
                pa.Table.from_pylist(list(rows), schema=self._table("caption_chunks").schema)
            )
            self._wrote("caption_chunks", "photo_id", [row["photo_id"] for row in rows], added.version)

    def caption_chunks(self, chunk_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Chunk rows (without vectors) by chunk id."""
        if not self._has_table("caption_chunks"):
            return {}
        rows = self._lookup("caption_chunks", "chunk_id", ["chunk_id", "caption_id", "photo_id", "text"]).rows(
            chunk_ids
        )
        return {row["chunk_id"]: row for row in rows}
