"""The library's own tables: meta, folders, files, photos and thumbnails, orphans, errors, work in flight."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users


from shashin import storage
from shashin.store import schema
from shashin.store.common import (
    IN_CHUNK,
    IN_FLIGHT,
    in_clause,
    json_value,
    sql_string,
    thumbnail_parts,
    utc_now,
)
from shashin.store.core import StoreCore
from shashin.store.records import (
    ErrorRow,
    FileRow,
    Orphan,
)
from shashin.store.segments import table_persist

_META = table_persist(None)  # the key/value table: read by every search, so saved like the rest


class LibraryTables(StoreCore):
    """Reads and writes of the tables every library has, whatever its channels."""

    def get_meta(self, key: str) -> str | None:
        """A value from the library's key/value table, or None."""
        rows = self._scan("meta", ["value"], f"key = {sql_string(key)}").column("value").to_pylist()
        return rows[0] if rows else None

    def meta_values(self) -> dict[str, str]:
        """Every library-wide value (from memory: cheap enough to ask on every search)."""

        table = self._in_memory(
            "meta", ("values",), functools.partial(self._scan_rows, "meta", ["key", "value"], None), _META
        )
        return dict(zip(table.column("key").to_pylist(), table.column("value").to_pylist()))

    def set_meta(self, key: str, value: str) -> None:
        """Store a library-wide value (one commit)."""
        self._upsert("meta", "key", [{"key": key, "value": value}])

    def delete_meta(self, key: str) -> None:
        """Remove a library-wide value (one commit; nothing when there is none)."""
        self._delete_in("meta", "key", [key])

    def folders(self) -> list[str]:
        """The folders this library indexes, in the order they were added."""
        table = self._scan("folders", ["root", "added_at"]).sort_by("added_at")
        return table.column("root").to_pylist()

    def add_folder(self, root: str) -> None:
        """Remember `root` as one of this library's folders."""
        if root not in self.folders():
            self._upsert("folders", "root", [{"root": root, "added_at": utc_now()}])

    def remove_folders(self, roots: Sequence[str]) -> None:
        """Stop treating `roots` as folders of their own (their files stay until rescanned)."""
        self._delete_in("folders", "root", roots)

    def files(self, root: str | None = None) -> dict[str, FileRow]:
        """Known files (all, or those found under one folder), by path."""
        where = f"root = {sql_string(root)}" if root is not None else None
        table = self._scan("files", ["path", "photo_id", "root", "size", "mtime_ns", "content_hash"], where)
        return {row["path"]: FileRow(**row) for row in table.to_pylist()}

    def put_files(self, rows: Sequence[FileRow]) -> None:
        """Insert or replace files by path (one commit)."""
        now = utc_now()
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

    def photo_ids(self) -> set[str]:
        """Ids of every photo in the library."""
        return set(self._scan("photos", ["photo_id"]).column("photo_id").to_pylist())

    def count_photos(self) -> int:
        return self._table("photos").count_rows()

    def put_photos(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace photo metadata rows (keys as in schema.PHOTOS; one commit)."""
        now = utc_now()
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
        return "/".join(thumbnail_parts(photo_id))

    def thumbnail_location(self, photo_id: str) -> str:
        """Where the thumbnail of a photo is kept (a local path or an object URI)."""
        return storage.join(self.root, *thumbnail_parts(photo_id))

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

        What a person wrote about them (captions of source "human", tags) is never deleted with them: it
        moves to the orphans table first (with `last_paths`, where each photo was last seen), from
        which it returns when the photo does. Each step is one commit and can be repeated: a run
        killed in between leaves both copies, and the next run finishes the move."""
        orphans = sorted(self.photos_without_files())
        if not orphans:
            return []
        self._keep_words_of(orphans, last_paths or {})
        for name in self.channel_tables():
            self._delete_in(name, "photo_id", orphans)
        self._delete_in("captions", "photo_id", orphans)
        if self._has_table("tags"):
            self._delete_in("tags", "photo_id", orphans)
        if self._has_table("faces"):
            self._delete_in("faces", "photo_id", orphans)
        if self._has_table("caption_chunks"):
            self._delete_in("caption_chunks", "photo_id", orphans)
        self._delete_in("photos", "photo_id", orphans)
        for photo_id in orphans:
            storage.delete(self.thumbnail_location(photo_id))
        return orphans

    def _keep_words_of(self, photo_ids: Sequence[str], last_paths: dict[str, list[str]]) -> set[str]:
        """Copy what a person wrote about these photos (captions of source "human", tags) into the
        orphans table, with each photo's fingerprint and where it was last seen (one commit;
        repeatable). Returns the photos that had any."""
        human = self._scan_in("captions", schema.CAPTIONS.names, "photo_id", photo_ids).to_pylist()
        kept = [("caption", f"{row['prompt_set']}:{row['lang']}", row) for row in human if row["source"] == "human"]
        if self._has_table("tags"):
            tags = self._scan_in("tags", schema.TAGS.names, "photo_id", photo_ids).to_pylist()
            kept += [("tag", row["tag_id"].split(":", 1)[1], row) for row in tags]
        if not kept:
            return set()
        wanted = set(photo_ids)
        hashes = {pid: pixels for pid, (pixels, _) in self.photo_hashes().items() if pid in wanted}
        self.keep_orphans(
            [
                {
                    "former_photo_id": row["photo_id"],
                    "pixel_hash": hashes.get(row["photo_id"]),
                    "kind": kind,
                    "key": key,
                    "row": row,
                    "paths": last_paths.get(row["photo_id"], []),
                }
                for kind, key, row in kept
            ]
        )
        return {row["photo_id"] for _, _, row in kept}

    def keep_orphans(self, entries: Sequence[dict[str, Any]]) -> None:
        """Store rows a person wrote for photos leaving the library (one commit; repeatable)."""
        now = utc_now()
        rows = []
        for entry in entries:
            key = f"{entry['former_photo_id']}:{entry['kind']}:{entry['key']}"
            data = json.dumps(entry["row"], default=json_value, ensure_ascii=False)
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
            for i in range(0, len(values), IN_CHUNK):
                for orphan in self.orphans(in_clause(column, values[i : i + IN_CHUNK])):
                    found[orphan.former_photo_id] = orphan
        return list(found.values())

    def forget_orphans(self, former_photo_ids: Iterable[str]) -> None:
        """Delete every kept row of these former photos (one commit)."""
        self._delete_in("orphans", "former_photo_id", former_photo_ids)

    def forget_orphan_rows(self, keys: Iterable[str]) -> None:
        """Delete kept rows by key ("former id:kind:key"), e.g. once they returned to a photo."""
        self._delete_in("orphans", "orphan_key", keys)

    def mark_in_flight(self, entries: Sequence[dict[str, Any]]) -> None:
        """Record the photos an index run is about to work on (a small file beside the tables): if
        the process dies (out of memory, a crash in a model) the next run knows which ones to suspect."""
        storage.write_bytes(
            storage.join(self.root, IN_FLIGHT), json.dumps({"pid": os.getpid(), "photos": list(entries)}).encode()
        )

    def in_flight(self) -> list[dict[str, Any]]:
        """The photos a run was working on when it died ([] when the last run ended normally)."""
        try:
            data = json.loads(storage.read_bytes(storage.join(self.root, IN_FLIGHT)))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # a marker cut short by the same crash: nothing to go on
        return [entry for entry in data.get("photos", []) if isinstance(entry, dict) and "photo_id" in entry]

    def clear_in_flight(self) -> None:
        storage.delete(storage.join(self.root, IN_FLIGHT))

    def put_errors(self, rows: Sequence[ErrorRow]) -> None:
        """Record per-file errors, replacing earlier ones for the same path (one commit)."""
        now = utc_now()
        self._upsert("errors", "path", [asdict(row) | {"at": row.at or now} for row in rows])

    def delete_errors(self, paths: Iterable[str]) -> None:
        self._delete_in("errors", "path", paths)

    def errors(self, root: str | None = None) -> list[ErrorRow]:
        """Recorded per-file errors, sorted by path."""
        where = f"root = {sql_string(root)}" if root is not None else None
        table = self._scan("errors", schema.ERRORS.names, where)
        return sorted((ErrorRow(**row) for row in table.to_pylist()), key=lambda e: e.path)
