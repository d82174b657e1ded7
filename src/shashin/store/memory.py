"""What search ranks by, held in memory: BM25 postings and vector matrices of one table version.

A hybrid query asks six channels; LanceDB answers each in milliseconds plus its own overhead, and
an exact vector scan of a large table takes hundreds. The store therefore keeps, per searched
column, a structure built from one version of its table and rebuilt when the version moves:
- KeywordIndex: Okapi BM25 over pre-tokenized text (scipy sparse matrix, one column per term);
- VectorIndex: the normalized vectors as one float32 matrix, searched exactly while small and by
  an inverted file (k-means lists, the nearest `nprobe` scanned) once large.
Both restrict results to a PhotoSet (the photos a filter allows) without losing recall.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shashin.store.quantized import READ_ROWS_ABOVE, Codes, RowFile, rerank_depth

_K1, _B = 1.2, 0.75  # BM25 parameters (the usual ones)


def encode(strings: Any) -> np.ndarray:
    """Ids as a numpy array of UTF-8 bytes: a photo id takes 32 bytes there instead of 128 as
    numpy str, which matters with a million of them in every index."""
    values = [s.encode() for s in strings]
    return np.array(values, dtype=bytes) if values else np.array([], dtype="S1")


def member_of(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of `values` (encoded, see encode()) are among `wanted`: np.isin's answer without
    sorting `values` (a million ids: 1.3 s for np.isin, 50 ms here). Each id is hashed to 64 bits;
    a table of the wanted hashes' low bits (256 slots per wanted id) picks the candidates, about
    one in 256 of `values`, and only those are compared in full (so the answer is exact)."""
    if not len(values) or not len(wanted):
        return np.zeros(len(values), bool)
    width = max(values.dtype.itemsize, wanted.dtype.itemsize)
    mask = np.uint64((1 << max(16, int(len(wanted) * 256).bit_length())) - 1)
    slots = np.zeros(int(mask) + 1, bool)
    slots[(_hash64(wanted, width) & mask).astype(np.int64)] = True
    maybe = np.flatnonzero(slots[(_hash64(values, width) & mask).astype(np.int64)])
    found = np.zeros(len(values), bool)
    if len(maybe):  # (np.isin sorts strings slowly: 70 ms for 16,000)
        known = set(wanted.tolist())
        found[maybe] = [value in known for value in values[maybe].tolist()]
    return found


def _hash64(ids: np.ndarray, width: int) -> np.ndarray:
    """A 64-bit hash of each fixed-width byte string (zero-padded to `width`, a multiple of 8)."""
    width = -(-width // 8) * 8
    padded = ids.astype(f"S{width}") if ids.dtype.itemsize != width else ids
    words = np.ascontiguousarray(padded).view(np.uint64).reshape(len(ids), width // 8)
    hashed = np.full(len(ids), 0x9E3779B97F4A7C15, np.uint64)
    with np.errstate(over="ignore"):
        for column in range(words.shape[1]):
            hashed ^= words[:, column]
            hashed *= np.uint64(0xBF58476D1CE4E5B9)
            hashed ^= hashed >> np.uint64(31)
    return hashed


def encode_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A string column as encode() would make it."""
    if len(column) == 0:
        return np.array([], dtype="S1")
    return pc.cast(column, pa.binary()).to_numpy(zero_copy_only=False).astype(bytes)


def int64_array(values: np.ndarray) -> pa.Array:
    """Row numbers as an Arrow array, without pa.array() (which imports pandas to inspect its
    argument: a quarter of a second in a fresh process)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def bool_array(mask: np.ndarray) -> pa.Array:
    """A boolean mask as an Arrow array, without pa.array() (see int64_array)."""
    bits = np.packbits(np.asarray(mask, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def pylist(table: pa.Table) -> list[dict[str, Any]]:
    """table.to_pylist(), with UTC timestamps made aware here: pyarrow imports pandas to convert
    time zones (a quarter of a second in a fresh process)."""
    utc = [f.name for f in table.schema if pa.types.is_timestamp(f.type) and f.type.tz in ("UTC", "+00:00")]
    for name in utc:
        unit = table.schema.field(name).type.unit
        table = table.set_column(table.schema.get_field_index(name), name, table.column(name).cast(pa.timestamp(unit)))
    rows = table.to_pylist()
    for row in rows:
        for name in utc:
            if row[name] is not None:
                row[name] = row[name].replace(tzinfo=UTC)
    return rows


def positions(universe: np.ndarray, photo_ids: Any) -> np.ndarray:
    """Where each of `photo_ids` is in `universe` (sorted), -1 for those not in it: a binary search
    for each (np.isin would sort the whole universe again: 35 ms at 100k photos)."""
    wanted = encode(photo_ids)
    if not len(wanted) or not len(universe):
        return np.full(len(wanted), -1, np.int64)
    at = np.minimum(np.searchsorted(universe, wanted), len(universe) - 1)
    return np.where(universe[at] == wanted, at, -1)


@dataclass(frozen=True)
class PhotoSet:
    """Some of the library's photos: a mask over `universe` (sorted photo ids); filters make these."""

    universe: np.ndarray
    mask: np.ndarray

    @classmethod
    def of(cls, universe: np.ndarray, photo_ids: Any) -> PhotoSet:
        """The photos of `universe` (sorted) that are in `photo_ids`."""
        return cls.at(universe, positions(universe, photo_ids))

    @classmethod
    def at(cls, universe: np.ndarray, places: Any) -> PhotoSet:
        """The photos at these positions of `universe` (-1: none), as positions() gives them."""
        mask = np.zeros(len(universe), dtype=bool)
        places = np.asarray(places, np.int64)
        mask[places[places >= 0]] = True
        return cls(universe, mask)

    def __len__(self) -> int:
        return int(self.mask.sum())

    def ids(self) -> list[str]:
        return [value.decode() for value in self.universe[self.mask]]


class _Rows:
    """Rows of one table version: their keys and photo ids, and (per universe) which a PhotoSet allows."""

    def __init__(self, keys: np.ndarray, photo_ids: np.ndarray) -> None:
        self.keys = keys  # encoded (see encode())
        self.photo_ids = photo_ids
        # Per universe (by identity): each row's position in it (0 where its photo is not in it), and
        # whether it is in it; kept, since every filtered search of this version asks again.
        self._positions: tuple[int, np.ndarray, np.ndarray] | None = None

    def key(self, row: int) -> str:
        return self.keys[row].decode()

    def photo(self, row: int) -> str:
        return self.photo_ids[row].decode()

    def named(self, rows: list[int]) -> list[tuple[str, str]]:
        """(key, photo id) of many rows at once: one gather per array, not two lookups a row."""
        at = np.asarray(rows, np.int64)
        return [(k.decode(), p.decode()) for k, p in zip(self.keys[at].tolist(), self.photo_ids[at].tolist())]

    def allowed(self, within: PhotoSet | None) -> np.ndarray | None:
        """A boolean mask of the rows whose photo is in `within` (None: every row)."""
        if within is None:
            return None
        universe = within.universe
        if self._positions is None or self._positions[0] != id(universe):
            positions = np.searchsorted(universe, self.photo_ids)
            positions[positions >= len(universe)] = 0
            known = universe[positions] == self.photo_ids if len(universe) else np.zeros(len(self.photo_ids), bool)
            self._positions = (id(universe), np.where(known, positions, 0), known)
        _, positions, known = self._positions
        return within.mask[positions] & known


def _best(scores: np.ndarray, rows: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The `limit` best rows and their scores, best first; ties by row order."""
    if len(scores) > limit:
        keep = np.argpartition(-scores, limit - 1)[:limit]
        scores, rows = scores[keep], rows[keep]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]


def _keyword_hits(
    found: np.ndarray,
    scores: np.ndarray,
    covered: np.ndarray,
    hits: np.ndarray,
    chosen: np.ndarray,
    limit: int,
    words: int,
    query_weight: float,
) -> list[tuple[int, float, float]]:
    """The `limit` best of the `chosen` documents as (row, BM25 score, coverage): coverage 1 for a
    document holding every word, else its share of the query's weight (plain floats: they reach JSON)."""
    at, best = _best(scores[chosen], chosen, limit)  # positions in `found`
    coverage = np.where(hits[at] == words, 1.0, np.minimum(covered[at] / query_weight, 1.0))
    return list(zip(found[at].tolist(), best.tolist(), coverage.tolist()))


def _first_per_photo(photos: np.ndarray, limit: int) -> np.ndarray:
    """Positions of each photo's first (best) row in a best-first list, for the first `limit` photos."""
    _, first = np.unique(photos, return_index=True)
    return np.sort(first)[:limit]


class _SortedTerms:
    """A vocabulary opened from disk: terms as sorted UTF-8 bytes and their columns, looked up by
    binary search instead of a dict built at start (a million file-name terms at 1M photos)."""

    def __init__(self, terms: np.ndarray, columns: np.ndarray) -> None:
        self.terms, self.columns = terms, columns

    def __len__(self) -> int:
        return len(self.terms)

    def get(self, term: str) -> int | None:
        key = term.encode()
        at = int(np.searchsorted(self.terms, key))
        if at < len(self.terms) and self.terms[at] == key:
            return int(self.columns[at])
        return None


class KeywordIndex(_Rows):
    """Okapi BM25 over whitespace-separated terms (the tokenizer's output), one document per row.
    `fold` maps a term to the form terms are compared by (stems: see text.tokenize.search_form),
    for the stored terms once here and for a query's terms in search()."""

    def __init__(
        self, keys: np.ndarray, photo_ids: np.ndarray, terms: pa.Array, fold: Callable[[str], str] | None = None
    ) -> None:
        super().__init__(keys, photo_ids)
        self.fold = fold or (lambda term: term)
        if pa.types.is_null(terms.type):  # no rows at all (an empty delta): pa.array([]) has no type
            terms = terms.cast(pa.string())
        terms = pc.fill_null(terms, "")
        words = pc.split_pattern(terms, " ")
        lengths = pc.list_value_length(words).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = pc.list_flatten(words)
        from scipy import sparse  # only to build: an opened index needs no scipy

        rows = np.repeat(np.arange(len(terms), dtype=np.int32), lengths)
        nonempty = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
        encoded = flat.filter(pc.not_equal(flat, "")).dictionary_encode()
        # Each distinct stored term is folded once (a vocabulary, not every occurrence).
        folded = [self.fold(term) for term in encoded.dictionary.to_pylist()]
        self.vocabulary: dict[str, int] | _SortedTerms = {term: i for i, term in enumerate(dict.fromkeys(folded))}
        remap = np.array([self.vocabulary[term] for term in folded], dtype=np.int64)
        columns = remap[encoded.indices.to_numpy(zero_copy_only=False)] if len(remap) else np.zeros(0, np.int64)
        rows = rows[nonempty]
        counts = sparse.csr_matrix(
            (np.ones(len(columns), np.float32), (rows, columns)), shape=(len(terms), len(self.vocabulary))
        )
        counts.sum_duplicates()
        doc_length = np.bincount(rows, minlength=len(terms)).astype(np.float32)
        average = float(doc_length.mean()) if len(terms) and doc_length.mean() > 0 else 1.0
        norm = _K1 * (1 - _B + _B * doc_length / average)
        tf = counts.tocoo()
        weights = tf.data * (_K1 + 1) / (tf.data + norm[tf.row])
        matrix = sparse.csc_matrix((weights.astype(np.float32), (tf.row, tf.col)), shape=counts.shape)
        # Postings of term c: rows indices[indptr[c]:indptr[c+1]] with BM25 term weights `data`.
        self.indptr = matrix.indptr.astype(np.int64)
        self.indices = matrix.indices.astype(np.int32)
        self.data = matrix.data.astype(np.float32)
        frequency = np.diff(self.indptr).astype(np.float32)
        self.idf = np.log(1 + (len(terms) - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)

    def arrays(self) -> dict[str, Any]:
        """What opened() needs, as arrays a search cache stores (see store/persisted.py)."""
        vocabulary = self.vocabulary
        if isinstance(vocabulary, _SortedTerms):
            terms, columns = vocabulary.terms, vocabulary.columns
        else:
            encoded = encode(vocabulary)
            order = np.argsort(encoded, kind="stable")
            terms, columns = encoded[order], np.fromiter(vocabulary.values(), np.int64, len(vocabulary))[order]
        return {
            "keys": self.keys,
            "photo_ids": self.photo_ids,
            "terms": terms,
            "term_columns": columns,
            "indptr": self.indptr,
            "indices": self.indices,
            "data": self.data,
            "idf": self.idf,
        }

    @classmethod
    def opened(cls, arrays: Mapping[str, Any], fold: Callable[[str], str] | None = None) -> KeywordIndex:
        """An index from arrays() output (memory-mapped: nothing is rebuilt or copied)."""
        index = cls.__new__(cls)
        _Rows.__init__(index, arrays["keys"], arrays["photo_ids"])
        index.fold = fold or (lambda term: term)
        index.vocabulary = _SortedTerms(arrays["terms"], arrays["term_columns"])
        index.indptr, index.indices, index.data = arrays["indptr"], arrays["indices"], arrays["data"]
        index.idf = arrays["idf"]
        return index

    def search(
        self,
        terms: list[str] | tuple[str, ...],
        limit: int,
        *,
        require_all: bool = False,
        within: PhotoSet | None = None,
    ) -> list[tuple[int, float, float]]:
        """(row, BM25 score, coverage) of the best documents for `terms`, best first; with
        require_all, only documents holding every term. Coverage is the share of the query's
        weight (IDF) that a document holds: 1 when it has every word, less for a partial match."""
        wanted = list(
            dict.fromkeys(self.fold(word) for term in terms for word in term.split())
        )  # as the text was indexed
        columns = [c for c in (self.vocabulary.get(t) for t in wanted) if c is not None]
        if not columns or (require_all and len(columns) < len(wanted)):
            return []
        unseen = math.log(1 + (len(self.keys) + 0.5) / 0.5)  # a word no document has weighs the most
        query_weight = float(self.idf[columns].sum()) + unseen * (len(wanted) - len(columns))
        postings = [slice(int(self.indptr[c]), int(self.indptr[c + 1])) for c in columns]
        rows = np.concatenate([self.indices[p] for p in postings])
        weights = np.concatenate([self.idf[c] * self.data[p] for c, p in zip(columns, postings)])
        idf = np.concatenate([np.full(p.stop - p.start, self.idf[c], np.float32) for c, p in zip(columns, postings)])
        # Sum per document: over the postings alone when they are few, else over every document.
        if len(rows) * 8 < len(self.keys):
            found, inverse = np.unique(rows, return_inverse=True)
            scores = np.bincount(inverse, weights=weights)
            covered = np.bincount(inverse, weights=idf)
            hits = np.bincount(inverse)
        else:
            scores = np.bincount(rows, weights=weights, minlength=len(self.keys))
            covered = np.bincount(rows, weights=idf, minlength=len(self.keys))
            hits = np.bincount(rows, minlength=len(self.keys))
            found = np.flatnonzero(hits)
            scores, covered, hits = scores[found], covered[found], hits[found]
        keep = hits >= len(columns) if require_all else np.ones(len(found), bool)
        allowed = self.allowed(within)
        if allowed is not None:
            keep &= allowed[found]
        chosen = np.flatnonzero(keep)
        return _keyword_hits(found, scores, covered, hits, chosen, limit, len(wanted), query_weight)


@dataclass
class _InvertedFile:
    """k-means lists over the vectors, stored list after list: list i is matrix rows
    offsets[i]:offsets[i+1], so probing a list reads one contiguous block."""

    centroids: np.ndarray
    offsets: np.ndarray
    nprobe: int


class VectorIndex(_Rows):
    """Normalized vectors searched by cosine similarity: exactly, or by inverted file when large."""

    def __init__(
        self,
        keys: np.ndarray,
        photo_ids: np.ndarray,
        vectors: np.ndarray,
        *,
        ann_min_rows: int,
        nprobe: int = 0,
        quantize: bool = True,
    ) -> None:
        super().__init__(keys, photo_ids)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(vectors) else np.ones((0, 1), np.float32)
        vectors = vectors / np.maximum(norms, 1e-12)
        self.ivf: _InvertedFile | None = None
        self.codes: Codes | None = None  # with an inverted file: its lists are scanned as int8 codes
        self._rows: RowFile | None = None  # a large saved matrix: candidates read, not mapped
        self._row_at = np.arange(len(vectors))  # matrix position -> row
        if len(vectors) >= ann_min_rows > 0:
            self.ivf, self._row_at = _train(vectors, nprobe)
            vectors = vectors[self._row_at]
            self.codes = Codes.of(vectors) if quantize else None
        self.matrix = np.ascontiguousarray(vectors)
        self._position = np.empty(len(vectors), dtype=np.int64)  # row -> matrix position
        self._position[self._row_at] = np.arange(len(vectors))

    def arrays(self) -> dict[str, Any]:
        """What opened() needs, as arrays a search cache stores (see store/persisted.py)."""
        arrays = {
            "keys": self.keys,
            "photo_ids": self.photo_ids,
            "matrix": self.matrix,
            "row_at": self._row_at,
            "position": self._position,
        }
        if self.ivf is not None:
            arrays |= {"centroids": self.ivf.centroids, "offsets": self.ivf.offsets}
        if self.codes is not None:
            arrays |= {"codes": self.codes.codes, "code_scales": self.codes.scales}
        return arrays

    @classmethod
    def opened(cls, arrays: Mapping[str, Any], *, nprobe: int = 0) -> VectorIndex:
        """An index from arrays() output; its matrix stays memory-mapped (pages are read as lists
        are probed, and the OS may drop them again under memory pressure)."""
        index = cls.__new__(cls)
        _Rows.__init__(index, arrays["keys"], arrays["photo_ids"])
        index.matrix, index._row_at = arrays["matrix"], arrays["row_at"]
        index.ivf = None
        index.codes = Codes(arrays["codes"], arrays["code_scales"]) if "codes" in arrays else None
        folder = arrays.get("__folder__")  # where a saved structure's files are (persisted.SearchCache)
        index._rows = None
        if folder is not None and index.codes is not None and index.matrix.nbytes > READ_ROWS_ABOVE:
            index._rows = RowFile.of(Path(str(folder)) / "matrix.npy")
        if "centroids" in arrays:
            lists = len(arrays["centroids"])
            index.ivf = _InvertedFile(arrays["centroids"], arrays["offsets"], nprobe or max(8, lists // 16))
        index._position = arrays["position"]
        return index

    @property
    def approximate(self) -> bool:
        return self.ivf is not None

    def __len__(self) -> int:
        return len(self.keys)

    def nearest(
        self, vector: np.ndarray, limit: int, *, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float]]:
        """(key, photo id, cosine similarity) of the nearest rows, most similar first."""
        rows, scores = self.best(vector, limit, within=within)
        return _named_hits(self, rows, scores)

    def nearest_per_photo(
        self, vector: np.ndarray, limit: int, *, pool: int, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float]]:
        """(key, photo id, similarity) of each photo's nearest row, for the `limit` photos with
        the nearest, among the `limit` × `pool` nearest rows (a photo with several rows: its
        caption's chunks)."""
        rows, scores = self.best(vector, limit * pool, within=within)
        keep = _first_per_photo(self.photo_ids[rows], limit)
        return _named_hits(self, rows[keep], scores[keep])

    def search(
        self, vector: np.ndarray, limit: int, *, within: PhotoSet | None = None, live: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the nearest rows, most similar first (`live`: a mask of the
        rows that may be returned, as segments pass it)."""
        rows, scores = self.best(vector, limit, within=within, live=live)
        return list(zip(rows.tolist(), scores.tolist()))

    def best(
        self, vector: np.ndarray, limit: int, *, within: PhotoSet | None = None, live: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """search() as arrays: the nearest rows and their similarities, most similar first."""
        if not len(self.keys):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = np.asarray(vector, np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        allowed = self.allowed(within)
        if live is not None:
            allowed = live if allowed is None else allowed & live
        if allowed is not None and allowed.sum() <= max(20_000, len(self.keys) // 20):
            rows = np.flatnonzero(allowed)  # few rows: scanning them exactly is cheaper, and exact
            return _best(self.matrix[self._position[rows]] @ query, rows, limit)
        if self.ivf is None:
            if allowed is None:
                return _best(self.matrix @ query, self._row_at, limit)
            keep = np.flatnonzero(allowed[self._row_at])  # most rows: score all, keep the allowed
            return _best((self.matrix @ query)[keep], self._row_at[keep], limit)
        positions, scores = self._probe(query)
        if allowed is not None:
            keep = allowed[self._row_at[positions]]
            positions, scores = positions[keep], scores[keep]
        if self.codes is not None:  # scores by code: the best candidates scored again, exactly
            depth = rerank_depth(limit)
            if len(scores) > depth:
                positions = positions[np.argpartition(-scores, depth - 1)[:depth]]
            positions = np.sort(positions)  # the float32 rows read in file order
            exact = self._rows.read(positions) if self._rows is not None else self.matrix[positions]
            scores = exact @ query
        return _best(scores, self._row_at[positions], limit)

    def _probe(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matrix positions and similarities (by code, when quantized) of the rows in the `nprobe`
        lists nearest the query."""
        ivf = self.ivf
        assert ivf is not None
        nearest = np.argpartition(-(ivf.centroids @ query), ivf.nprobe - 1)[: ivf.nprobe]
        blocks = [(int(ivf.offsets[i]), int(ivf.offsets[i + 1])) for i in np.sort(nearest)]
        positions = np.concatenate([np.arange(a, b) for a, b in blocks])
        if self.codes is not None:
            coded = self.codes.query(query)
            scores = np.concatenate([self.codes.scores(coded, a, b) for a, b in blocks])
        else:
            scores = np.concatenate([self.matrix[a:b] @ query for a, b in blocks])
        return positions, scores


def _train(vectors: np.ndarray, nprobe: int, iterations: int = 8, seed: int = 0) -> tuple[_InvertedFile, np.ndarray]:
    """Spherical k-means on a sample (about √n lists), then every vector to its nearest list.
    Returns the lists and the row order that stores them one after another."""
    from scipy import sparse

    n = len(vectors)
    lists = max(8, int(np.sqrt(n)))
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, size=min(n, lists * 32), replace=False)]
    centroids = sample[rng.choice(len(sample), size=lists, replace=False)].copy()
    for _ in range(iterations):
        assigned = _nearest(sample, centroids)
        members = sparse.csr_matrix(
            (np.ones(len(sample), np.float32), (assigned, np.arange(len(sample)))), shape=(lists, len(sample))
        )
        sums = np.asarray(members @ sample)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = sample[rng.choice(len(sample), size=int(empty.sum()), replace=False)]
        centroids = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    assigned = _nearest(vectors, centroids)
    order = np.argsort(assigned, kind="stable").astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(assigned, minlength=lists))])
    return _InvertedFile(centroids, offsets, nprobe or max(8, lists // 16)), order


def _nearest(vectors: np.ndarray, centroids: np.ndarray, block: int = 32768) -> np.ndarray:
    return np.concatenate(
        [np.argmax(vectors[i : i + block] @ centroids.T, axis=1) for i in range(0, len(vectors), block)]
    ).astype(np.int64)


def _named_hits(index: Any, rows: np.ndarray, scores: np.ndarray) -> list[tuple[str, str, float]]:
    """(key, photo id, score) of rows, named in one gather."""
    return [(key, photo, score) for (key, photo), score in zip(index.named(rows.tolist()), scores.tolist())]


class RowLookup:
    """Rows of one table version held in memory and found by a key column: what a result page
    shows (paths, dates, captions, OCR text) without a database query per channel."""

    def __init__(self, table: pa.Table, key: str) -> None:
        self.table = table.sort_by(key)
        self.key = key
        self.keys = encode_column(self.table.column(key))
        self._recent = _Recent()

    def arrays(self) -> dict[str, Any]:
        return {"table": self.table, "keys": self.keys, "key": np.array(self.key)}

    @classmethod
    def opened(cls, arrays: Mapping[str, Any]) -> RowLookup:
        lookup = cls.__new__(cls)
        lookup.table, lookup.keys, lookup.key = arrays["table"], arrays["keys"], str(arrays["key"])
        lookup._recent = _Recent()
        return lookup

    def column(self, name: str) -> np.ndarray | None:
        """A column's values, encoded (None when the table does not hold it): the key column
        as kept, any other encoded now."""
        if name == self.key:
            return self.keys
        return encode_column(self.table.column(name)) if name in self.table.column_names else None

    def rows(self, keys: Any, live: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Every row whose key is one of `keys` (and, with `live`, that the mask keeps). A page is
        read by several steps (its description, its highlights, its alt text): the last few
        answers are kept, as copies, since this table version never changes."""
        asked = frozenset(keys)
        if live is not None:  # a segment's view of its main part: the segment keeps its answers
            return self._rows(asked, live)
        return self._recent.get(asked, lambda: self._rows(asked, None))

    def _rows(self, keys: frozenset[str], live: np.ndarray | None) -> list[dict[str, Any]]:
        wanted = np.sort(encode(keys))
        if not len(wanted) or not len(self.keys):
            return []
        left = np.searchsorted(self.keys, wanted, "left")
        right = np.searchsorted(self.keys, wanted, "right")
        indices: np.ndarray = np.concatenate([np.arange(a, b) for a, b in zip(left, right)])
        if live is not None and len(indices):
            indices = indices[live[indices]]
        return pylist(self.table.take(int64_array(indices))) if len(indices) else []


class _Recent:
    """The last few answers of a lookup over data that never changes, handed out as copies."""

    def __init__(self, size: int = 16) -> None:
        self._answers: OrderedDict[frozenset[str], list[dict[str, Any]]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, asked: frozenset[str], read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        with self._lock:
            known = self._answers.get(asked)
            if known is not None:
                self._answers.move_to_end(asked)
        if known is None:
            known = read()
            with self._lock:
                self._answers[asked] = known
                while len(self._answers) > self._size:
                    self._answers.popitem(last=False)
        return [dict(row) for row in known]


@dataclass(frozen=True)
class PhotoFacts:
    """What filters look at, for every photo, as arrays over `ids` (sorted): when and where it was
    taken, its camera, whether it has text, its size, and its files (for folder filters)."""

    ids: np.ndarray  # encoded (see encode())
    taken_at: np.ndarray  # datetime64[s], NaT when unknown
    latitude: np.ndarray  # NaN when unknown
    longitude: np.ndarray
    town: np.ndarray  # int32: the nearest town's number (places.gazetteer().town), -1 without GPS
    town_km: np.ndarray  # float32: how far that town's centre is, NaN without GPS
    camera: np.ndarray  # per photo, a number into camera_names
    camera_names: list[str]  # "make model lens", case-folded: each distinct camera once
    has_text: np.ndarray  # bool: OCR found text in it
    width: np.ndarray  # pixels as shown (EXIF rotation applied), 0 when unknown
    height: np.ndarray
    file_paths: pa.ChunkedArray  # every file's path...
    file_photos: np.ndarray  # ...and the position of its photo in `ids`

    def positions(self, photo_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Where each photo is in `ids`, and whether it is there at all (removed since)."""
        if not len(self.ids) or not photo_ids:
            return np.zeros(len(photo_ids), np.int64), np.zeros(len(photo_ids), bool)
        encoded = encode(photo_ids)
        at = np.minimum(np.searchsorted(self.ids, encoded), len(self.ids) - 1)
        return at, self.ids[at] == encoded


@dataclass
class Cached:
    """A structure built from one table version, and when that version was last confirmed current."""

    version: int
    value: Any
    checked_at: float = field(default=0.0)


# Segments: a structure saved for an older table version (the main part, memory-mapped), the rows
# changed since then marked dead in it, and those rows as they are now in a small delta beside it.
# Search reads both; a full rebuild folds them together once the delta grows (see core._made).


class Segment:
    """What the segmented kinds share: the parts, which keys changed since the main part's
    version (`main_version`, saved on its own), and how the delta is saved beside it."""

    main_version: int = -1  # set when the segment is made (core._updated)

    def __init__(self, main: Any, live: np.ndarray, delta: Any, changed: dict[str, set[str]]) -> None:
        self.main, self.live, self.delta, self.changed = main, live, delta, changed
        self._live_count = int(live.sum())

    def __len__(self) -> int:
        return self._live_count + len(self.delta.keys)

    def key(self, row: int) -> str:
        """A row's key; rows number the main part first, then the delta."""
        offset = len(self.main.keys)
        return self.main.key(row) if row < offset else self.delta.key(row - offset)

    def photo(self, row: int) -> str:
        offset = len(self.main.keys)
        return self.main.photo(row) if row < offset else self.delta.photo(row - offset)

    def named(self, rows: list[int]) -> list[tuple[str, str]]:
        """(key, photo id) of many rows at once, each part's gathered in one go."""
        offset = len(self.main.keys)
        in_main = [r for r in rows if r < offset]
        in_delta = [r - offset for r in rows if r >= offset]
        found = dict(zip(in_main, self.main.named(in_main))) | {
            r + offset: name for r, name in zip(in_delta, self.delta.named(in_delta))
        }
        return [found[r] for r in rows]

    def arrays(self) -> dict[str, Any]:
        """The delta's arrays, the live mask and the changed keys; the main part is referred to
        by its version (see persisted.SearchCache.save)."""
        ((column, keys),) = self.changed.items()
        arrays: dict[str, Any] = {
            "__main__": self.main_version,
            "live": self.live,
            "changed_column": np.array([column.encode()]),
            "changed_keys": encode(sorted(keys)),
        }
        arrays |= {f"delta.{name}": value for name, value in self.delta.arrays().items()}
        return arrays

    @classmethod
    def opened_from(cls, arrays: Mapping[str, Any], part: Callable[[Mapping[str, Any]], Any]) -> Any:
        """The segment from saved arrays ("main.*" are the main part's, as SearchCache.open gives them)."""
        main = part({name[5:]: value for name, value in arrays.items() if name.startswith("main.")})
        delta = part({name[6:]: value for name, value in arrays.items() if name.startswith("delta.")})
        column = bytes(arrays["changed_column"][0]).decode()
        changed = {column: {bytes(key).decode() for key in arrays["changed_keys"]}}
        segment = cls(main, np.asarray(arrays["live"]), delta, changed)
        segment.main_version = int(arrays["__main__"])
        return segment


class SegmentedRows(Segment):
    """RowLookup over a main part (less its dead rows) and a delta of rows changed since."""

    main: RowLookup
    delta: RowLookup

    def __init__(self, main: Any, live: np.ndarray, delta: Any, changed: dict[str, set[str]]) -> None:
        super().__init__(main, live, delta, changed)
        self._recent = _Recent()

    def rows(self, keys: Any) -> list[dict[str, Any]]:
        asked = frozenset(keys)
        return self._recent.get(asked, lambda: self.main.rows(asked, live=self.live) + self.delta.rows(asked))


class SegmentedKeywords(Segment):
    """BM25 over a main KeywordIndex (less its dead rows) and a delta index of the changed rows.

    Document frequencies and the document count are those of the live rows of both, computed for
    the query's terms at query time, so IDF is exact; each part keeps the length normalization of
    its own build (the delta's average length may differ slightly until the next rebuild). Rows
    number the main part first, then the delta."""

    main: KeywordIndex
    delta: KeywordIndex

    @property
    def fold(self) -> Callable[[str], str]:
        return self.main.fold

    def search(
        self,
        terms: list[str] | tuple[str, ...],
        limit: int,
        *,
        require_all: bool = False,
        within: PhotoSet | None = None,
    ) -> list[tuple[int, float, float]]:
        wanted = list(dict.fromkeys(self.fold(word) for term in terms for word in term.split()))
        total = len(self)
        offset = len(self.main.keys)
        postings: list[tuple[np.ndarray, np.ndarray]] = []  # per term: (rows, BM25 tf weights)
        for term in wanted:
            rows_parts, weight_parts = [], []
            for part, shift, live in ((self.main, 0, self.live), (self.delta, offset, None)):
                column = part.vocabulary.get(term)
                if column is None:
                    continue
                span = slice(int(part.indptr[column]), int(part.indptr[column + 1]))
                rows, weights = np.asarray(part.indices[span]), np.asarray(part.data[span])
                if live is not None:
                    keep = live[rows]
                    rows, weights = rows[keep], weights[keep]
                rows_parts.append(rows.astype(np.int64) + shift)
                weight_parts.append(weights)
            if rows_parts and sum(len(r) for r in rows_parts):
                postings.append((np.concatenate(rows_parts), np.concatenate(weight_parts)))
        if not postings or (require_all and len(postings) < len(wanted)):
            return []
        idf = [np.float32(math.log(1 + (total - len(rows) + 0.5) / (len(rows) + 0.5))) for rows, _ in postings]
        unseen = math.log(1 + (total + 0.5) / 0.5)
        query_weight = float(sum(idf)) + unseen * (len(wanted) - len(postings))
        rows = np.concatenate([r for r, _ in postings])
        weights = np.concatenate([w * i for (_, w), i in zip(postings, idf)])
        term_idf = np.concatenate([np.full(len(r), i, np.float32) for (r, _), i in zip(postings, idf)])
        if len(rows) * 8 < offset + len(self.delta.keys):  # few postings: sum over them alone
            found, inverse = np.unique(rows, return_inverse=True)
            scores = np.bincount(inverse, weights=weights)
            covered = np.bincount(inverse, weights=term_idf)
            hits = np.bincount(inverse)
        else:  # many: over every row, as KeywordIndex.search does
            size = offset + len(self.delta.keys)
            hits = np.bincount(rows, minlength=size)
            found = np.flatnonzero(hits)
            scores = np.bincount(rows, weights=weights, minlength=size)[found]
            covered = np.bincount(rows, weights=term_idf, minlength=size)[found]
            hits = hits[found]
        keep = hits >= len(postings) if require_all else np.ones(len(found), bool)
        if within is not None:
            main_rows = found < offset
            allowed = np.zeros(len(found), bool)
            main_allowed = self.main.allowed(within)
            delta_allowed = self.delta.allowed(within)
            assert main_allowed is not None and delta_allowed is not None
            allowed[main_rows] = main_allowed[found[main_rows]]
            allowed[~main_rows] = delta_allowed[found[~main_rows] - offset]
            keep &= allowed
        chosen = np.flatnonzero(keep)
        return _keyword_hits(found, scores, covered, hits, chosen, limit, len(wanted), query_weight)


class SegmentedVectors(Segment):
    """Vector search over a main VectorIndex (less its dead rows) and a delta of the changed rows,
    searched exactly. Rows number the main part first, then the delta."""

    main: VectorIndex
    delta: VectorIndex

    @property
    def approximate(self) -> bool:
        return self.main.approximate

    def nearest(
        self, vector: np.ndarray, limit: int, *, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float]]:
        rows, scores = self.best(vector, limit, within=within)
        return _named_hits(self, rows, scores)

    def nearest_per_photo(
        self, vector: np.ndarray, limit: int, *, pool: int, within: PhotoSet | None = None
    ) -> list[tuple[str, str, float]]:
        rows, scores = self.best(vector, limit * pool, within=within)
        offset = len(self.main.keys)
        in_main = rows < offset
        parts = np.concatenate([np.flatnonzero(in_main), np.flatnonzero(~in_main)])
        gathered = np.concatenate([self.main.photo_ids[rows[in_main]], self.delta.photo_ids[rows[~in_main] - offset]])
        photos = np.empty_like(gathered)
        photos[parts] = gathered
        keep = _first_per_photo(photos, limit)
        return _named_hits(self, rows[keep], scores[keep])

    def search(self, vector: np.ndarray, limit: int, *, within: PhotoSet | None = None) -> list[tuple[int, float]]:
        rows, scores = self.best(vector, limit, within=within)
        return list(zip(rows.tolist(), scores.tolist()))

    def best(self, vector: np.ndarray, limit: int, *, within: PhotoSet | None = None) -> tuple[np.ndarray, np.ndarray]:
        main_rows, main_scores = self.main.best(vector, limit, within=within, live=self.live)
        delta_rows, delta_scores = self.delta.best(vector, limit, within=within)
        rows = np.concatenate([main_rows, delta_rows + len(self.main.keys)])
        return _best(np.concatenate([main_scores, delta_scores]), rows, limit)
