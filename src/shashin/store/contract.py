"""What the rest of shashin relies on from a library's store, one Protocol per kind of data.

store.Store (LanceDB) implements them all; mypy checks that it does (store/lance.py), and
tests/test_layout.py that no code outside store/ calls a method not named here. A second backend
implements these, and a new kind of data (faces: many rows per photo, like captions) adds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pyarrow as pa

from shashin.store.memory import PhotoFacts, PhotoSet
from shashin.store.records import ErrorRow, FileRow, Orphan, Salvaged, TableHealth, VectorIndexReport


class MetaStore(Protocol):
    """Library-wide values (schema version, the models a library settled on)."""

    def get_meta(self, key: str) -> str | None:
        """A value from the library's key/value table, or None."""

    def set_meta(self, key: str, value: str) -> None:
        """Store a library-wide value (one commit)."""

    def meta_values(self) -> dict[str, str]:
        """Every library-wide value (from memory: cheap enough to ask on every search)."""

    def delete_meta(self, key: str) -> None:
        """Remove a library-wide value (one commit; nothing when there is none)."""


class PhotoStore(Protocol):
    """Folders, files and photos (one row per photo), with thumbnails."""

    def folders(self) -> list[str]:
        """The folders this library indexes, in the order they were added."""

    def add_folder(self, root: str) -> None:
        """Remember `root` as one of this library's folders."""

    def remove_folders(self, roots: Sequence[str]) -> None:
        """Stop treating `roots` as folders of their own (their files stay until rescanned)."""

    def files(self, root: str | None = None) -> dict[str, FileRow]:
        """Known files (all, or those found under one folder), by path."""

    def put_files(self, rows: Sequence[FileRow]) -> None:
        """Insert or replace files by path (one commit)."""

    def delete_files(self, paths: Iterable[str]) -> None:
        """Forget files by path; their photos stay until delete_orphan_photos()."""

    def file_rows_for(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, list[FileRow]]:
        """All files of each photo, sorted by path. `from_memory` (search): from the in-memory copy"""

    def photo_id_of_path(self, path: str) -> str | None:
        """The photo a known file holds, or None."""

    def count_files(self) -> int: ...

    def photo_ids(self) -> set[str]:
        """Ids of every photo in the library."""

    def count_photos(self) -> int: ...

    def put_photos(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace photo metadata rows (keys as in schema.PHOTOS; one commit)."""

    def get_photos(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, dict[str, Any]]:
        """Metadata rows by photo id (missing ids are left out); `from_memory` for search."""

    def save_thumbnail(self, photo_id: str, data: bytes) -> str:
        """Write a thumbnail atomically; returns its path relative to the library."""

    def thumbnail(self, photo_id: str) -> bytes | None:
        """The photo's WebP thumbnail, or None when it has none."""

    def photo_hashes(self) -> dict[str, tuple[str | None, str | None]]:
        """photo id -> (pixel fingerprint, content hash its metadata was read from), for every photo."""

    def photos_without_files(self) -> set[str]:
        """Photos no file holds any more (they leave the library at the end of an index run)."""

    def delete_orphan_photos(self, last_paths: dict[str, list[str]] | None = None) -> list[str]:
        """Remove photos that no file holds any more, with their channel rows and thumbnails."""

    def photo_facts(self) -> PhotoFacts:
        """Date, position, camera, text and files of every photo, as arrays (from memory)."""

    def search_files(
        self, terms: Sequence[str], *, limit: int, require_all: bool = False, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float, float]]:
        """BM25 over file names, folders and camera terms: (path, photo id, score, coverage), best first."""


class ChannelStore(Protocol):
    """Channel rows, one per photo: each channel's outputs with the version that made them."""

    def ensure_channel(self, channel: str, payload: Sequence[pa.Field], fts: Sequence[str] = ()) -> None:
        """Create the channel's table, or rebuild it if its layout changed (its rows are recomputable)."""

    def channel_states(self, channel: str) -> dict[str, tuple[str, str]]:
        """photo id -> (version, status) for every photo the channel has a row for."""

    def put_channel_rows(self, channel: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace one row per photo: output and status in one commit."""

    def channel_rows(
        self, channel: str, photo_ids: Iterable[str], columns: Sequence[str], *, from_memory: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Selected columns of a channel's rows, by photo id; `from_memory` (search) keeps those"""

    def channel_failures(self, channel: str, version: str) -> list[dict[str, Any]]:
        """Photos the channel failed on with its current version: photo id and error."""

    def channel_select(
        self,
        channel: str,
        columns: Sequence[str],
        *,
        version: str | None = None,
        present: Sequence[str] = (),
        stale: tuple[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Selected columns of a channel's done rows: of `version` when given, with every `present`"""

    def count_channel(self, channel: str, version: str, status: str) -> int:
        """How many photos have a row with this version and status."""

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
        """BM25 over a channel's tokenized text column (done rows only): (photo id, score, coverage),"""

    def search_channel_grams(
        self, channel: str, column: str, grams: Sequence[str], *, limit: int, within: PhotoSet | None = None
    ) -> list[tuple[str, float, float]]:
        """BM25 over the three-letter pieces of a channel's text column (text.fuzzy.grams): the"""

    def search_vectors(
        self, channel: str, column: str, vector: Any, *, limit: int, version: str, within: PhotoSet | None = None
    ) -> list[tuple[str, float]]:
        """Nearest done rows of one model version by cosine similarity: (photo id, similarity), best first."""

    def count_vectors(self, channel: str, column: str, version: str) -> int:
        """How many done rows of a channel have vectors from this model version (from memory)."""


class CaptionStore(Protocol):
    """Rows many per photo: captions (one per kind and language) and their embedded chunks."""

    def put_captions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace captions by caption_id (one commit)."""

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

    def captions_for(self, photo_ids: Iterable[str], *, from_memory: bool = False) -> dict[str, list[dict[str, Any]]]:
        """Every caption of each photo, by photo id. `from_memory` (search) gives only the columns"""

    def search_captions(
        self, terms: Sequence[str], *, limit: int, require_all: bool = False, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float, float]]:
        """BM25 over done captions: (caption_id, photo_id, score, coverage), best first."""

    def ensure_caption_chunks(self, dimensions: int) -> None:
        """Create the caption-chunk table, or rebuild it for another vector size."""

    def caption_chunk_versions(self) -> dict[str, tuple[str, str]]:
        """caption_id -> (caption version, embedding version) of its stored chunks."""

    def replace_caption_chunks(self, caption_ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Drop the chunks of `caption_ids`, then add `rows` (two commits; rerunning repairs either)."""

    def search_caption_chunks(
        self, vector: Any, *, limit: int, version: str, within: PhotoSet | None = None, pool: int = 4
    ) -> list[tuple[str, str, float]]:
        """Each photo's nearest caption chunk, (chunk_id, photo_id, similarity), for the `limit`
        nearest photos among the `limit` × `pool` nearest chunks; best first."""

    def caption_chunks(self, chunk_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Chunk rows (without vectors) by chunk id."""

    def count_caption_vectors(self, version: str) -> int:
        """How many caption chunks have vectors from this embedding model (from memory)."""


class ManyPerPhotoStore(Protocol):
    """Any table with many rows per photo (store.common.MANY_PER_PHOTO): captions now, faces next."""

    def put_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace rows by the table's key (one commit), stamped now."""

    def rows_of(
        self, table: str, photo_ids: Iterable[str], *, from_memory: bool = False
    ) -> dict[str, list[dict[str, Any]]]:
        """Every row of each photo, by photo id."""

    def delete_rows_of(self, table: str, photo_ids: Iterable[str]) -> None:
        """Delete every row of these photos (one commit)."""

    def delete_rows(self, table: str, keys: Iterable[str]) -> None:
        """Delete rows by the table's key (one commit)."""

    def rows_table(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Every row as Arrow, all columns or these (bulk work over the whole library: vectors stay arrays)."""

    def all_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of the table (for work over the whole library, not for search)."""


class OrphanStore(Protocol):
    """What people wrote about photos that left the library, kept until they return."""

    def keep_orphans(self, entries: Sequence[dict[str, Any]]) -> None:
        """Store rows a person wrote for photos leaving the library (one commit; repeatable)."""

    def orphans(self, where: str | None = None) -> list[Orphan]:
        """Kept rows of photos no longer in the library, one Orphan per former photo, oldest first."""

    def orphans_of(self, photo_ids: Iterable[str], pixel_hashes: Iterable[str]) -> list[Orphan]:
        """Orphans whose former photo had one of these ids (the same bytes returned) or fingerprints."""

    def forget_orphans(self, former_photo_ids: Iterable[str]) -> None:
        """Delete every kept row of these former photos (one commit)."""

    def forget_orphan_rows(self, keys: Iterable[str]) -> None:
        """Delete kept rows by key ("former id:kind:key"), e.g. once they returned to a photo."""


class ErrorLog(Protocol):
    """Files that failed and why, and the photos an index run is working on."""

    def put_errors(self, rows: Sequence[ErrorRow]) -> None:
        """Record per-file errors, replacing earlier ones for the same path (one commit)."""

    def delete_errors(self, paths: Iterable[str]) -> None: ...

    def errors(self, root: str | None = None) -> list[ErrorRow]:
        """Recorded per-file errors, sorted by path."""

    def mark_in_flight(self, entries: Sequence[dict[str, Any]]) -> None:
        """Record the photos an index run is about to work on (a small file beside the tables): if"""

    def in_flight(self) -> list[dict[str, Any]]:
        """The photos a run was working on when it died ([] when the last run ended normally)."""

    def clear_in_flight(self) -> None: ...


class Maintained(Protocol):
    """Compaction, vector indexes, health checks and repairs."""

    def optimize(self) -> None:
        """Compact small commits, fold new rows into the search indexes (full-text, key and vector"""

    def vector_columns(self) -> list[tuple[str, str]]:
        """(table, column) of every vector column in the library (image vectors, caption chunks)."""

    def build_vector_indexes(self, *, min_rows: int, rebuild: bool = False) -> list[VectorIndexReport]:
        """Build or refresh the approximate index of every vector column with at least `min_rows` rows."""

    def check_tables(self) -> list[TableHealth]:
        """Read every row of every table (in batches, every column) and say which cannot be read."""

    def damaged_tables(self) -> list[str]:
        """Tables with a data file that is gone or does not end as a Lance file does: what a quick"""

    def salvage(self, name: str) -> Salvaged:
        """Rewrite a damaged table with the rows that can still be read (a table of recomputable"""

    def recover_captions_from_chunks(self) -> int:
        """A person's captions lost from the captions table, rebuilt from their search chunks."""

    def keep_words_of_lost_photos(self, last_paths: dict[str, list[str]]) -> int:
        """Captions and tags whose photo row was lost become orphans (they return with the photo)."""

    def detach_missing_photos(self) -> dict[str, list[str]]:
        """Forget file rows whose photo row is gone (after a salvage): the next index run finds the"""

    def thumbnail_ids(self) -> set[str] | None:
        """Ids of the photos that have a thumbnail file; None on object storage, where listing a"""

    def listed_thumbnail_ids(self) -> set[str]:
        """Ids of the photos that have a thumbnail file, from a listing of the thumbnails folder."""

    def forget_sources(self, photo_ids: Iterable[str]) -> None:
        """Mark photos to be read again by the next index run (metadata, thumbnail, fingerprint)."""


class Writer(Protocol):
    """One writer at a time."""

    def writer(self) -> AbstractContextManager[None]:
        """Hold the library's writer lock: one indexing process at a time (workers it starts"""


class LibraryStore(
    MetaStore,
    PhotoStore,
    ChannelStore,
    ManyPerPhotoStore,
    CaptionStore,
    OrphanStore,
    ErrorLog,
    Maintained,
    Writer,
    Protocol,
):
    """Everything a library needs from its store."""
