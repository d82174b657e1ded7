"""Search structures saved beside the tables: opened by later processes, current, crash-safe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from shashin.store import Store, catalogue, segments
from shashin.store.memory import (
    KeywordIndex,
    RowLookup,
    SegmentedKeywords,
    SegmentedRows,
    SegmentedVectors,
    VectorIndex,
    encode,
)
from shashin.store.persisted import SearchCache
from shashin.store.rows import caption_row

CAPTIONS = ("captions", "terms", "caption_id", "status = 'done'")


def _caption(photo_id: str, text: str) -> dict[str, object]:
    return caption_row(
        photo_id, "brief", "en", text=text, raw=text, source="human", backend="human",
        model=None, prompt=None, params=None, version="v",
    )  # fmt: skip


def _mapped(array: np.ndarray) -> bool:
    """Whether an array's memory is a file mapping (not a copy read into memory)."""
    import mmap

    base = array
    while getattr(base, "base", None) is not None and not isinstance(base, mmap.mmap):
        base = base.base
    return isinstance(base, mmap.mmap)


def _library(db: Path) -> Store:
    store = Store(db)
    store.put_rows("captions", [_caption(f"p{i}", f"a red door number {i}") for i in range(5)])
    store.put_rows("captions", [_caption("q", "a cat on a mat")])
    return store


def test_a_later_process_opens_what_the_first_saved_and_finds_the_same(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "db"
    first = _library(db).search_captions(["door"], limit=10)
    assert len(first) == 5
    assert list((db / "search" / "captions").rglob("manifest.json"))

    def no_building(*args: object, **kwargs: object) -> None:
        raise AssertionError("built again instead of opened")

    monkeypatch.setattr(KeywordIndex, "__init__", no_building)
    later = Store(db, create=False)
    assert later.search_captions(["door"], limit=10) == first
    assert later.search_captions(["cat", "mat"], limit=10, require_all=True)[0][1] == "q"
    assert _mapped(later._keyword_index(*CAPTIONS).indptr)


def test_a_write_from_another_process_is_searched_within_a_second(tmp_path: Path) -> None:
    db = tmp_path / "db"
    reader = _library(db)
    assert all(photo != "new" for _, photo, _, _ in reader.search_captions(["door"], limit=10))
    Store(db, create=False).put_rows("captions", [_caption("new", "a blue door")])  # the index run
    deadline = time.monotonic() + 1.0
    while True:
        found = {photo for _, photo, _, _ in reader.search_captions(["door"], limit=10)}
        if "new" in found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "new" in found


CRASH = """
import os, sys
from shashin.store import Store, persisted
from tests.store.test_persisted import _caption

original = persisted._write
def dying(folder, name, value):
    original(folder, name, value)
    os._exit(9)  # killed after the first file of the new version
persisted._write = dying
store = Store(sys.argv[1], create=False)
store._changes = None  # a write that is not in the change log (an older shashin): searchers rebuild
store.put_rows("captions", [_caption("late", "a green door")])
store.search_captions(["door"], limit=10)
"""


def test_a_crash_while_saving_leaves_the_saved_version_whole_and_the_new_one_unseen(tmp_path: Path) -> None:
    db = tmp_path / "db"
    store = _library(db)
    store.search_captions(["door"], limit=10)
    key = ("terms", "status = 'done'", "terms", store._incarnation("captions"))
    cache = SearchCache(db / "search")
    saved_version = store._table("captions").version
    assert cache.open("captions", key, saved_version) is not None
    died = subprocess.run([sys.executable, "-c", CRASH, str(db)], capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr
    new_version = Store(db, create=False)._table("captions").version
    assert new_version > saved_version
    assert list(cache.folder("captions", key).glob("*.part"))  # what the crash left
    assert cache.open("captions", key, new_version) is None  # never half a version
    assert cache.open("captions", key, saved_version) is not None  # the previous one is whole
    found = {photo for _, photo, _, _ in Store(db, create=False).search_captions(["door"], limit=10)}
    assert "late" in found  # built again from the table, and saved
    assert cache.open("captions", key, new_version) is not None


def test_a_damaged_saved_structure_is_built_again(tmp_path: Path) -> None:
    db = tmp_path / "db"
    first = _library(db).search_captions(["door"], limit=10)
    for saved in (db / "search" / "captions").rglob("indptr.npy"):
        saved.write_bytes(saved.read_bytes()[:40])  # a disk error, a copy cut short
    assert Store(db, create=False).search_captions(["door"], limit=10) == first


def test_a_library_whose_cache_cannot_be_written_searches_from_memory(tmp_path: Path) -> None:
    db = tmp_path / "db"
    store = Store(db)
    shutil.rmtree(db / "search", ignore_errors=True)
    (db / "search").write_text("a file where the folder would go")  # refused even to root, like a full disk
    store.put_rows("captions", [_caption(f"p{i}", f"a red door number {i}") for i in range(5)])
    assert len(store.search_captions(["door"], limit=10)) == 5
    assert len(Store(db, create=False).search_captions(["door"], limit=10)) == 5


@pytest.mark.parametrize("ann_min_rows", [0, 50])
def test_vector_indexes_come_back_from_their_arrays_with_the_same_answers(ann_min_rows: int) -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    keys = np.array([f"k{i}".encode() for i in range(400)])
    built = VectorIndex(keys, keys, vectors, ann_min_rows=ann_min_rows, nprobe=4)
    opened = VectorIndex.opened(built.arrays(), nprobe=4)
    assert opened.approximate == built.approximate == bool(ann_min_rows)
    for query in rng.normal(size=(10, 16)).astype(np.float32):
        assert opened.search(query, 10) == built.search(query, 10)


def test_changed_rows_update_the_structures_instead_of_rebuilding_them(tmp_path: Path) -> None:
    db = tmp_path / "db"
    reader = _library(db)
    assert len(reader.search_captions(["door"], limit=10)) == 5
    writer = Store(db, create=False)
    writer.put_rows("captions", [_caption("p1", "a cat asleep"), _caption("new", "a green door")])
    writer.delete_rows_of("captions", ["p2"])  # keyed by photo: a second key column, so a rebuild
    writer.put_rows("captions", [_caption("p3", "a dog by a door")])
    time.sleep(0.6)  # past the recheck interval
    found = {photo for _, photo, _, _ in reader.search_captions(["door"], limit=10)}
    assert found == {"p0", "p3", "p4", "new"}

    fresh = Store(db, create=False)
    fresh.put_rows("captions", [_caption("p4", "a red gate")])
    later = Store(db, create=False)  # a new process: the saved main part and the log since
    found = {photo for _, photo, _, _ in later.search_captions(["door"], limit=10)}
    assert found == {"p0", "p3", "new"}
    index = later._keyword_index(*CAPTIONS)
    assert isinstance(index, SegmentedKeywords) and _mapped(index.main.indptr)
    assert later.search_captions(["gate"], limit=10)[0][1] == "p4"


def test_a_delta_past_its_limit_is_folded_into_a_new_saved_main_part(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "db"
    store = _library(db)
    store.search_captions(["door"], limit=10)
    monkeypatch.setattr(segments, "MIN_DELTA", 2)
    Store(db, create=False).put_rows("captions", [_caption(f"n{i}", f"door {i}") for i in range(3)])
    later = Store(db, create=False)
    assert len(later.search_captions(["door"], limit=20)) == 8
    assert isinstance(later._keyword_index(*CAPTIONS), KeywordIndex)  # rebuilt whole, and saved
    version = later._table("captions").version
    key = ("terms", "status = 'done'", "terms", later._incarnation("captions"))
    assert SearchCache(db / "search").open("captions", key, version) is not None


def test_segmented_keywords_score_as_a_rebuilt_index_does() -> None:
    documents = {f"d{i}": f"w{i % 7} w{i % 3} w{i % 5}" for i in range(60)}  # equal lengths: equal norms
    changed = {"d3": "w1 w2 w9", "d4": "w0 w0 w1", "n1": "w2 w9 w9", "n2": "w4 w1 w0"}

    def index(docs: dict[str, str]) -> KeywordIndex:
        keys = encode(docs)
        return KeywordIndex(keys, keys, pa.array(list(docs.values())))

    main = index(documents)
    live = ~np.isin(main.keys, encode(["d3", "d4"]))
    segmented = SegmentedKeywords(main, live, index(changed), {"caption_id": set(changed)})
    rebuilt = index({**{k: v for k, v in documents.items() if k not in changed}, **changed})
    for query in (["w1"], ["w9"], ["w2", "w9"], ["w0", "w4"]):
        expected = {rebuilt.key(row): (score, cover) for row, score, cover in rebuilt.search(query, 100)}
        got = {segmented.key(row): (score, cover) for row, score, cover in segmented.search(query, 100)}
        assert got.keys() == expected.keys(), query
        for key, (score, cover) in got.items():
            assert score == pytest.approx(expected[key][0], rel=1e-5) and cover == pytest.approx(expected[key][1])


@pytest.mark.parametrize("ann_min_rows", [0, 100])
def test_segmented_vectors_find_what_an_exact_scan_of_the_live_rows_finds(ann_min_rows: int) -> None:
    rng = np.random.default_rng(9)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    keys = np.array([f"k{i}".encode() for i in range(300)])
    main = VectorIndex(keys, keys, vectors, ann_min_rows=ann_min_rows, nprobe=64)
    dead = np.isin(keys, keys[::10])
    moved = rng.normal(size=(30, 8)).astype(np.float32)
    segmented = SegmentedVectors(main, ~dead, VectorIndex(keys[::10], keys[::10], moved, ann_min_rows=0), {})
    all_keys = np.concatenate([keys[~dead], keys[::10]])
    exact = VectorIndex(all_keys, all_keys, np.concatenate([vectors[~dead], moved]), ann_min_rows=0)
    for query in rng.normal(size=(10, 8)).astype(np.float32):
        assert [k for k, _, _ in segmented.nearest(query, 10)] == [k for k, _, _ in exact.nearest(query, 10)]
    assert len(segmented) == 300


def _chunks(dimensions: int, label: str) -> list[dict[str, object]]:
    vectors = np.eye(dimensions, dtype=np.float32)
    return [
        {"chunk_id": f"{label}{i}#0", "caption_id": f"{label}{i}", "photo_id": f"{label}{i}",
         "caption_version": "c", "version": "e5", "text": f"{label} {i}", "vector": vectors[i].tolist()}
        for i in range(3)
    ]  # fmt: skip


def test_a_table_made_again_never_meets_the_saved_structures_of_the_one_before(tmp_path: Path) -> None:
    db = tmp_path / "db"
    store = Store(db)
    store.ensure_caption_chunks(4)
    store.replace_caption_chunks([], _chunks(4, "old"))
    first = store.search_caption_chunks(np.eye(4, dtype=np.float32)[1], limit=1, version="e5")
    assert first[0][1] == "old1"
    old_version = store._table("caption_chunks").version
    other = Store(db, create=False)
    other.ensure_caption_chunks(8)  # another embedding model: the table is dropped and made again
    while other._table("caption_chunks").version < old_version - 1:
        other.replace_caption_chunks(["nothing"], [])
    other.replace_caption_chunks([], _chunks(8, "new"))
    assert other._table("caption_chunks").version == old_version  # the same number as the saved one
    fresh = Store(db, create=False)
    found = fresh.search_caption_chunks(np.eye(8, dtype=np.float32)[2], limit=1, version="e5")
    assert found[0][1] == "new2"


QUICK = """
import json, sys
from shashin.store import Store
store = Store(sys.argv[1], create=False, quick=True)
found = [photo for _, photo, _, _ in store.search_captions(["door"], limit=10)]
print(json.dumps({"found": sorted(found), "lancedb": "lancedb" in sys.modules, "frozen": store._frozen is not None}))
"""


def _quick(db: Path) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-c", QUICK, str(db)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_quick_reader_searches_the_saved_structures_without_opening_lancedb(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _library(db).search_captions(["door"], limit=10)  # saves the structures
    quick = _quick(db)
    assert quick == {"found": ["p0", "p1", "p2", "p3", "p4"], "lancedb": False, "frozen": True}

    Store(db, create=False).put_rows("captions", [_caption("new", "a blue door")])  # a logged write
    first = _quick(db)  # reads the changed rows from the table and saves them as a delta ...
    assert first["found"] == ["new", "p0", "p1", "p2", "p3", "p4"]
    quick = _quick(db)  # ... so the next one reads no table at all
    assert quick["found"] == first["found"] and quick["lancedb"] is False and quick["frozen"] is True

    unlogged = Store(db, create=False)
    unlogged._changes = None  # a commit the catalogue does not know about (another program, an older shashin)
    unlogged.put_rows("captions", [_caption("late", "a green door")])
    quick = _quick(db)
    assert "late" in quick["found"] and quick["frozen"] is False  # the tables themselves were read


def test_manifest_versions_are_read_in_both_of_lances_namings(tmp_path: Path) -> None:
    folder = tmp_path / "t.lance" / "_versions"
    folder.mkdir(parents=True)
    for name in ("1.manifest", "2.manifest", "latest_version_hint.json", "d7.manifest"):
        (folder / name).write_text("")
    assert catalogue.newest_manifest(tmp_path / "t.lance") == 2
    for version in (3, 4):
        (folder / f"{2**64 - 1 - version}.manifest").write_text("")
    assert catalogue.newest_manifest(tmp_path / "t.lance") == 4
    assert catalogue.newest_manifest(tmp_path / "missing.lance") is None


def test_a_delta_of_deletions_only_is_an_empty_index_that_finds_nothing() -> None:
    empty = KeywordIndex(encode([]), encode([]), pa.array([]))  # untyped, as an empty scan can give
    assert empty.search(["door"], 10) == []
    keys = encode(["a", "b"])
    main = KeywordIndex(keys, keys, pa.array(["red door", "blue door"]))
    segmented = SegmentedKeywords(main, np.array([True, False]), empty, {"photo_id": {"b"}})
    assert [segmented.key(row) for row, _, _ in segmented.search(["door"], 10)] == ["a"]


def test_segmented_rows_leave_out_the_dead_rows_of_the_main_part() -> None:
    main = RowLookup(pa.table({"photo_id": ["a", "b", "c"], "text": ["old a", "old b", "old c"]}), "photo_id")
    delta = RowLookup(pa.table({"photo_id": ["b"], "text": ["new b"]}), "photo_id")
    segmented = SegmentedRows(main, np.array([True, False, True]), delta, {"photo_id": {"b"}})
    assert sorted(row["text"] for row in segmented.rows(["a", "b"])) == ["new b", "old a"]


def test_a_page_read_twice_is_taken_once_and_each_segment_answers_by_its_own_rows() -> None:
    """The description, the highlights and the alt text of a page ask for the same rows: the
    second answer is kept, but handed out as a copy, and a later segment over the same main
    part (another row changed since) is not answered from what an earlier one kept."""
    main = RowLookup(pa.table({"photo_id": ["a", "b", "c"], "text": ["old a", "old b", "old c"]}), "photo_id")
    first = main.rows(["a", "c"])
    first[0]["text"] = "changed by a caller"
    taken = main.table

    class Untakeable:
        def take(self, indices: object) -> None:
            raise AssertionError("read again")

    main.table = Untakeable()  # type: ignore[assignment]
    assert sorted(row["text"] for row in main.rows(["c", "a"])) == ["old a", "old c"]
    main.table = taken
    before = SegmentedRows(
        main,
        np.array([True, False, True]),
        RowLookup(pa.table({"photo_id": ["b"], "text": ["new b"]}), "photo_id"),
        {"photo_id": {"b"}},
    )
    assert sorted(row["text"] for row in before.rows(["a", "c"])) == ["old a", "old c"]
    after = SegmentedRows(
        main,
        np.array([True, False, False]),
        RowLookup(pa.table({"photo_id": ["b", "c"], "text": ["new b", "new c"]}), "photo_id"),
        {"photo_id": {"b", "c"}},
    )
    assert sorted(row["text"] for row in after.rows(["a", "c"])) == ["new c", "old a"]


def test_an_update_reads_only_the_fragments_written_since_and_finds_what_a_rebuild_finds(
    tmp_path: Path, monkeypatch
) -> None:
    """At a million photos a scan of the whole table per structure made the search after adding
    1,000 photos take 8 s: the update reads only the fragments written since its main part."""
    db = tmp_path / "db"
    reader = _library(db)
    reader.search_captions(["door"], limit=10)
    writer = Store(db, create=False)
    writer.put_rows("captions", [_caption("p1", "a cat asleep"), _caption("new", "a green door")])
    time.sleep(0.6)
    whole_scans: list[str] = []
    scan = reader._scan
    monkeypatch.setattr(reader, "_scan", lambda name, *a, **k: whole_scans.append(name) or scan(name, *a, **k))
    found = {photo for _, photo, _, _ in reader.search_captions(["door"], limit=10)}
    rebuilt = {photo for _, photo, _, _ in Store(db, create=False).search_captions(["door"], limit=10)}
    assert found == rebuilt == {"p0", "p2", "p3", "p4", "new"}
    assert "captions" not in whole_scans  # the delta came from the new fragments alone


def test_without_the_version_an_update_counts_from_it_scans_every_fragment(tmp_path: Path) -> None:
    from shashin.store import core

    store = _library(tmp_path / "db")
    core._DELTA.since = {"captions": 10_000}  # a version cleaned up (or never made)
    try:
        assert store._written_since("captions") is None
        rows = store._scan_rows("captions", ["caption_id", "photo_id"], None, ("photo_id", ["p1", "q"]))
    finally:
        core._DELTA.since = {}
    assert sorted(rows.column("photo_id").to_pylist()) == ["p1", "q"]
