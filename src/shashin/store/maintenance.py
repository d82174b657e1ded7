"""Looking after a library: compaction, approximate vector indexes, health checks and repairs."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa

from shashin import storage
from shashin.store import ann
from shashin.store.common import (
    CORE_TABLES,
    KEEP_OLD_VERSIONS,
    MANY_PER_PHOTO,
    ends_as_lance,
    fragment_rows,
)
from shashin.store.errors import (
    first_line,
)
from shashin.store.records import (
    Salvaged,
    TableHealth,
    VectorIndexReport,
)
from shashin.store.rows import human_caption_row, human_caption_version
from shashin.store.search_indexes import SearchIndexes

_MIN_VECTOR_SIZE = 16  # a fixed-size list shorter than this is a box or a few numbers, not a vector
# Tables of a person's words whose lost rows are looked for in older versions, by their key.
_RECOVERABLE = {"captions": "caption_id", "tags": "tag_id", "people": "person_id", "orphans": "orphan_key"}


def _readable(fragments: Iterable[Any]) -> tuple[list[pa.Table], int]:
    """The fragments' rows that can be read, and how many rows could not be."""
    kept: list[pa.Table] = []
    lost = 0
    for fragment in fragments:
        try:
            kept.append(fragment.to_table())
        except Exception:
            lost += fragment_rows(fragment)
    return kept, lost


class Maintenance(SearchIndexes):
    """Optimize, check and salvage."""

    def optimize(self) -> None:
        """Compact small commits, fold new rows into the search indexes (full-text, key and vector
        indexes alike), drop old versions."""
        for name in self._table_names():
            self._table(name).optimize(cleanup_older_than=KEEP_OLD_VERSIONS)

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
                found.append(TableHealth(name, 0, 0, first_line(str(exc)), name in CORE_TABLES))
                continue
            for fragment in fragments:
                try:
                    for batch in fragment.to_batches(batch_size=4096):
                        rows += batch.num_rows
                except Exception as exc:
                    unreadable += fragment_rows(fragment)
                    problem = problem or first_line(str(exc))
            found.append(TableHealth(name, rows, unreadable, problem, name in CORE_TABLES))
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
            if not all(ends_as_lance(path) for path in files):
                damaged.append(name)
        return damaged

    def salvage(self, name: str) -> Salvaged:
        """Rewrite a damaged table with the rows that can still be read (a table of recomputable
        outputs is dropped instead: `index` computes it again). Rows of a person's words (captions,
        tags, names, orphans) that were in unreadable data are looked for in the table's older
        versions still on disk (the newest copy of each key wins) when they still belong to the
        library."""
        if name not in CORE_TABLES:
            self._db.drop_table(name)
            self._forget_table(name)
            return Salvaged(name, dropped=True)
        dataset = self._table(name).to_lance()
        kept, lost = _readable(dataset.get_fragments())
        layout, fts, keys = CORE_TABLES[name]
        rows = pa.concat_tables([t.select(layout.names).cast(layout) for t in kept]) if kept else layout.empty_table()
        recovered = layout.empty_table()
        if lost and name in _RECOVERABLE:
            recovered = self._from_older_versions(name, dataset, rows)
            rows = pa.concat_tables([rows, recovered])
        self._db.drop_table(name)
        self._forget_table(name)
        self._create(name, layout, fts=fts, keys=keys)
        if rows.num_rows:
            self._table(name).add(rows)
        self._wrote(name)
        return Salvaged(name, rows.num_rows - recovered.num_rows, recovered.num_rows, max(0, lost - recovered.num_rows))

    def _from_older_versions(self, name: str, dataset: Any, current: pa.Table) -> pa.Table:
        """Rows of `name` not in `current` that older versions of the table still hold readably and
        that still belong (see _belongs), newest version first."""
        layout = CORE_TABLES[name][0]
        key = _RECOVERABLE[name]
        seen = set(current.column(key).to_pylist())
        found: list[pa.Table] = []
        versions = sorted((entry["version"] for entry in dataset.versions()), reverse=True)
        for version in versions[1:]:
            try:
                older = dataset.checkout_version(version)
                tables, _ = _readable(older.get_fragments())
            except Exception:  # a version whose manifest is gone or damaged has nothing to give
                continue
            for piece in tables:
                table = piece.select(layout.names).cast(layout)
                fresh = [i for i, value in enumerate(table.column(key).to_pylist()) if value not in seen]
                if fresh:
                    chosen = table.take(fresh)
                    seen.update(chosen.column(key).to_pylist())
                    found.append(chosen)
        if not found:
            return layout.empty_table()
        candidates = pa.concat_tables(found)
        belongs = self._belongs(name, candidates)
        return candidates.filter(pa.array(belongs, pa.bool_()))

    def _belongs(self, name: str, rows: pa.Table) -> list[bool]:
        """Which recovered rows still have a place: captions and tags of a photo in the library,
        names of a person some face still points at, orphans of a photo that has not returned."""
        if name in ("captions", "tags"):
            photos = self.photo_ids()
            return [pid in photos for pid in rows.column("photo_id").to_pylist()]
        if name == "people":
            faces = (
                set(self._scan("faces", ["person_id"]).column("person_id").to_pylist())
                if self._has_table("faces")
                else set()
            )
            return [pid in faces for pid in rows.column("person_id").to_pylist()]
        photos = self.photo_ids()  # orphans
        return [pid not in photos for pid in rows.column("former_photo_id").to_pylist()]

    def recover_captions_from_chunks(self) -> int:
        """A person's captions the captions table lost, rebuilt from the chunks caption search
        embedded (caption_chunks keeps each caption's text in pieces and its version, which for a
        person's caption carries a digest of the text): a caption is restored only when its pieces
        join to text with that digest. Returns the captions restored."""
        if not self._has_table("caption_chunks"):
            return 0
        chunks = self._scan("caption_chunks", ["chunk_id", "caption_id", "photo_id", "caption_version", "text"])
        present = set(self._scan("captions", ["caption_id"]).column("caption_id").to_pylist())
        photos = self.photo_ids()
        pieces: dict[str, list[tuple[int, str]]] = {}
        versions: dict[str, tuple[str, str]] = {}
        for row in chunks.to_pylist():
            version = row["caption_version"] or ""
            if not version.startswith("human:") or row["caption_id"] in present or row["photo_id"] not in photos:
                continue
            suffix = str(row["chunk_id"]).rpartition("#")[2]  # chunk ids are caption_id#n
            number = int(suffix) if suffix.isdigit() else 0
            pieces.setdefault(row["caption_id"], []).append((number, row["text"] or ""))
            versions[row["caption_id"]] = (row["photo_id"], version)
        restored = []
        for caption, parts in pieces.items():
            photo_id, version = versions[caption]
            texts = [text for _, text in sorted(parts)]
            text = next((t for t in (" ".join(texts), "".join(texts)) if human_caption_version(t) == version), None)
            prompt_set, lang = caption.rsplit(":", 2)[-2:]
            if text is None:
                continue
            restored.append(human_caption_row(photo_id, prompt_set, lang, text))
        if restored:
            self.put_captions(restored)
        return len(restored)

    def keep_words_of_lost_photos(self, last_paths: dict[str, list[str]]) -> int:
        """Captions a person wrote and tags whose photo row was lost (a damaged photos table) become
        orphans, listed by `shashin orphans`; they return by themselves when the next index run
        finds the photo again. Returns the photos they belonged to."""
        photos = self.photo_ids()
        holders = set(self._scan("captions", ["photo_id"]).column("photo_id").to_pylist())
        if self._has_table("tags"):
            holders |= set(self._scan("tags", ["photo_id"]).column("photo_id").to_pylist())
        lost = sorted(self._keep_words_of(sorted(holders - photos), last_paths))
        if not lost:
            return 0
        self._delete_in("captions", "photo_id", lost)
        if self._has_table("tags"):
            self._delete_in("tags", "photo_id", lost)
        return len(lost)

    def detach_missing_photos(self) -> dict[str, list[str]]:
        """Forget file rows whose photo row is gone (after a salvage): the next index run finds the
        files as new photos again, with the same ids, so their outputs and captions still apply.
        Returns photo id -> the paths forgotten (where each lost photo was last seen)."""
        files = self._scan("files", ["path", "photo_id"])
        photos = self.photo_ids()
        missing: dict[str, list[str]] = {}
        for path, pid in zip(*(files.column(c).to_pylist() for c in ("path", "photo_id"))):
            if pid not in photos:
                missing.setdefault(pid, []).append(path)
        self.delete_files([path for paths in missing.values() for path in paths])
        return missing

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
