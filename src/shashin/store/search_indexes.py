"""What search reads: keyword indexes, vector indexes and photo facts, kept in memory or searched on disk."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa

from shashin.places import gazetteer_identity, town_columns
from shashin.store import ann
from shashin.store.ann import DiskVectorIndex
from shashin.store.channel_tables import ChannelTables
from shashin.store.common import (
    CHANNEL_PREFIX,
    facts_of,
    sql_string,
    strings_of,
)
from shashin.store.memory import KeywordIndex, PhotoFacts, PhotoSet, SegmentedKeywords, SegmentedVectors, VectorIndex
from shashin.store.segments import Only, persist_of, table_persist, update_index
from shashin.text import fuzzy
from shashin.text.tokenize import search_form

_TABLE = table_persist(None)


class SearchIndexes(ChannelTables):
    """Search over the stored tables, from in-memory structures rebuilt when a table changes."""

    def search_files(
        self, terms: Sequence[str], *, limit: int, require_all: bool = False, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float, float]]:
        """BM25 over file names, folders and camera terms: (path, photo id, score, coverage), best first."""
        index = self._keyword_index("files", "terms", "path", None)
        return _named(index, index.search(list(terms), limit, require_all=require_all, within=within))

    def search_captions(
        self, terms: Sequence[str], *, limit: int, require_all: bool = False, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float, float]]:
        """BM25 over done captions: (caption_id, photo_id, score, coverage), best first."""
        index = self._keyword_index("captions", "terms", "caption_id", "status = 'done'")
        return _named(index, index.search(list(terms), limit, require_all=require_all, within=within))

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
        name = CHANNEL_PREFIX + channel
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
        name = CHANNEL_PREFIX + channel
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
        name = CHANNEL_PREFIX + channel
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
        photos = self._in_memory(
            "photos", ("facts", "sides", gazetteer_identity()), self._photo_columns, table_persist("photo_id")
        )
        files = self._in_memory(
            "files", ("paths",), functools.partial(self._scan_rows, "files", ["path", "photo_id"], None), _TABLE
        )
        ocr = CHANNEL_PREFIX + "ocr"
        texted = (
            self._in_memory(
                ocr,
                ("texted",),
                functools.partial(self._scan_rows, ocr, ["photo_id"], "status = 'done' AND text != ''"),
                _TABLE,
            )
            if self._has_table(ocr)
            else None
        )
        key = (id(photos), id(files), id(texted))
        if self._facts is None or self._facts[0] != key:
            self._facts = (key, facts_of(photos, files, texted))
        return self._facts[1]

    def _photo_columns(self, only: Only | None = None) -> pa.Table:
        columns = [
            "photo_id",
            "taken_at",
            "latitude",
            "longitude",
            "camera_make",
            "camera_model",
            "lens",
            "width",
            "height",
        ]
        table = self._scan_rows("photos", columns, None, only).sort_by("photo_id")
        # The nearest town is worked out here, when the photos arrive, not on every search.
        towns, distances = town_columns(
            table.column("latitude").to_numpy(zero_copy_only=False),
            table.column("longitude").to_numpy(zero_copy_only=False),
        )
        return table.append_column("town", pa.array(towns)).append_column("town_km", pa.array(distances))

    def _keyword_index(
        self, name: str, column: str, key: str, where: str | None, *, grams: bool = False
    ) -> KeywordIndex:
        """BM25 over a column of terms, or (`grams`) over the three-letter pieces of a text column."""

        def build(only: Only | None = None) -> KeywordIndex:
            table = self._scan_rows(name, list(dict.fromkeys([key, "photo_id", column])), where, only)
            photo_ids = strings_of(table, "photo_id")
            keys = photo_ids if key == "photo_id" else strings_of(table, key)
            values = table.column(column).combine_chunks()
            if grams:
                return KeywordIndex(
                    keys, photo_ids, pa.array([fuzzy.grams(text or "") for text in values.to_pylist()], pa.string())
                )
            return KeywordIndex(keys, photo_ids, values, fold=search_form)

        fold = None if grams else search_form
        persist = persist_of(
            KeywordIndex, SegmentedKeywords, lambda arrays: KeywordIndex.opened(arrays, fold), update_index(key)
        )
        return self._in_memory(name, (column, where, "grams" if grams else "terms"), build, persist)

    def _vector_index(self, name: str, column: str, key: str, where: str) -> VectorIndex | DiskVectorIndex:
        """The rows' vectors in memory, or, for a table beyond memory_max_rows with an approximate
        index (shashin optimize), that index on disk."""
        tuning = self.search_tuning

        def build(only: Only | None = None) -> VectorIndex | DiskVectorIndex:
            if only is not None:
                return in_memory(only)  # the rows changed since the main part: few, searched exactly
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

        def in_memory(only: Only | None = None) -> VectorIndex:
            table = self._scan_rows(name, list(dict.fromkeys([key, "photo_id", column])), where, only)
            values = table.column(column).combine_chunks()
            dimensions = values.type.list_size if len(values) else 0
            vectors = values.flatten().to_numpy(zero_copy_only=False).reshape(len(values), dimensions)
            photo_ids = strings_of(table, "photo_id")
            return VectorIndex(
                photo_ids if key == "photo_id" else strings_of(table, key),
                photo_ids,
                vectors,
                ann_min_rows=self.search_tuning.ann_min_rows,
                nprobe=self.search_tuning.nprobe,
            )

        nprobe = self.search_tuning.nprobe
        persist = persist_of(
            VectorIndex, SegmentedVectors, lambda arrays: VectorIndex.opened(arrays, nprobe=nprobe), update_index(key)
        )
        # What decides the structure's shape is part of its key: another setting, another entry.
        shape = (tuning.ann_min_rows, tuning.memory_max_rows)
        return self._in_memory(name, (column, where, shape), build, persist)

    def search_caption_chunks(
        self, vector: Any, *, limit: int, version: str, within: PhotoSet | None = None, pool: int = 4
    ) -> list[tuple[str, str, float]]:
        """Each photo's nearest caption chunk by cosine similarity, (chunk_id, photo_id, similarity),
        for the `limit` nearest photos, found among the `limit` × `pool` nearest chunks."""
        index = self._caption_vectors(version)
        if index is None:
            return []
        return index.nearest_per_photo(vector, limit, pool=pool, within=within)


def _named(index: Any, hits: list[tuple[int, float, float]]) -> list[tuple[str, str, float, float]]:
    """Keyword hits (row, score, coverage) as (key, photo id, score, coverage), the rows named in bulk."""
    named = index.named([row for row, _, _ in hits])
    return [(key, photo, score, coverage) for (key, photo), (_, score, coverage) in zip(named, hits, strict=True)]
