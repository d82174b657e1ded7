"""Looking after a library: compaction, approximate vector indexes, health checks and repairs."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa

from shashin import storage
from shashin.store import ann
from shashin.store.common import (
    _CORE_TABLES,
    _KEEP_OLD_VERSIONS,
    MANY_PER_PHOTO,
    _ends_as_lance,
    _fragment_rows,
)
from shashin.store.errors import (
    _first_line,
)
from shashin.store.records import (
    TableHealth,
    VectorIndexReport,
)
from shashin.store.search_indexes import SearchIndexes

_MIN_VECTOR_SIZE = 16  # a fixed-size list shorter than this is a box or a few numbers, not a vector


class Maintenance(SearchIndexes):
    """Optimize, check and salvage."""

    def optimize(self) -> None:
        """Compact small commits, fold new rows into the search indexes (full-text, key and vector
        indexes alike), drop old versions."""
        for name in self._table_names():
            self._table(name).optimize(cleanup_older_than=_KEEP_OLD_VERSIONS)

    def vector_columns(self) -> list[tuple[str, str]]:
        """(table, column) of every vector column search reads (image vectors, caption chunks): not
        boxes (a few numbers) nor face descriptors (grouped in bulk, never searched from disk)."""
        found = []
        for name in self._table_names():
            if name in MANY_PER_PHOTO:
                continue
            for field in self._table(name).schema:
                vector = pa.types.is_fixed_size_list(field.type) and pa.types.is_floating(field.type.value_type)
                if vector and field.type.list_size >= _MIN_VECTOR_SIZE:
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
