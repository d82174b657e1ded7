"""The in-memory search structures: BM25 by hand, restriction to a photo set, approximate recall."""

import math

import numpy as np
import pyarrow as pa

from shashin.store.memory import KeywordIndex, PhotoSet, VectorIndex, encode, positions


def keyword_index(*texts: str) -> KeywordIndex:
    ids = encode(f"p{i}" for i in range(len(texts)))
    return KeywordIndex(ids, ids, pa.array(list(texts)))


def test_bm25_matches_the_formula() -> None:
    index = keyword_index("red car", "red red red bus stop here", "blue sky")
    n, k1, b = 3, 1.2, 0.75
    average = (2 + 6 + 2) / 3
    idf_red = math.log(1 + (n - 2 + 0.5) / (2 + 0.5))
    expected_0 = idf_red * 1 * (k1 + 1) / (1 + k1 * (1 - b + b * 2 / average))
    expected_1 = idf_red * 3 * (k1 + 1) / (3 + k1 * (1 - b + b * 6 / average))
    got = {row: score for row, score, _ in index.search(["red"], 10)}
    assert math.isclose(got[0], expected_0, rel_tol=1e-5) and math.isclose(got[1], expected_1, rel_tol=1e-5)


def test_require_all_coverage_and_unknown_words() -> None:
    index = keyword_index("no litter", "no dogs", "litter bin")
    assert [row for row, *_ in index.search(["no", "litter"], 10, require_all=True)] == [0]
    coverage = {row: c for row, _, c in index.search(["no", "litter"], 10)}
    assert coverage[0] == 1.0 and 0 < coverage[1] < 1 and 0 < coverage[2] < 1
    # A word no document holds still counts in the query: nobody covers it all.
    assert all(c < 1 for *_, c in index.search(["no", "zebra"], 10))
    assert index.search(["zebra"], 10) == []
    assert index.search(["no", "zebra"], 10, require_all=True) == []


def test_words_with_spaces_are_split_as_indexed() -> None:
    index = keyword_index("a red sports car")
    assert [row for row, *_ in index.search(["sports car"], 10, require_all=True)] == [0]


def test_results_stay_within_the_photo_set() -> None:
    index = keyword_index("cat", "cat cat", "cat dog")
    universe = encode(["p0", "p1", "p2", "p9"])
    allowed = PhotoSet.of(universe, ["p0", "p2"])
    assert sorted(row for row, *_ in index.search(["cat"], 10, within=allowed)) == [0, 2]
    ids = encode(["p0", "p1", "p2"])
    vectors = VectorIndex(ids, ids, np.eye(3, dtype=np.float32), ann_min_rows=0)
    assert [row for row, _ in vectors.search(np.array([0, 1, 0.1]), 3, within=allowed)] == [2, 0]
    # The same photo set asked again after another one (the rows' places in the universe are kept).
    assert sorted(row for row, *_ in index.search(["cat"], 10, within=PhotoSet.of(universe, ["p1"]))) == [1]
    assert sorted(row for row, *_ in index.search(["cat"], 10, within=allowed)) == [0, 2]


def test_photo_ids_are_placed_in_the_universe() -> None:
    universe = encode(["a", "b", "d", "f"])
    assert positions(universe, ["d", "a", "c", "z", "f"]).tolist() == [2, 0, -1, -1, 3]  # c, z: not in it
    assert positions(universe, []).tolist() == [] and positions(encode([]), ["a"]).tolist() == [-1]
    placed = PhotoSet.at(universe, positions(universe, ["f", "c", "b"]))
    assert placed.ids() == ["b", "f"] == PhotoSet.of(universe, {"b", "f", "x"}).ids()


def clustered(n: int, dimensions: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, dimensions))
    data = centres[rng.integers(0, 64, n)] + 0.5 * rng.normal(size=(n, dimensions))
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def test_approximate_search_finds_the_exact_neighbours() -> None:
    data, queries = np.split(clustered(20_050, 64), [20_000])  # queries from the same distribution
    ids = encode(f"p{i:05d}" for i in range(len(data)))
    exact = VectorIndex(ids, ids, data, ann_min_rows=0)
    approximate = VectorIndex(ids, ids, data, ann_min_rows=1000)
    assert approximate.approximate and not exact.approximate
    recall = np.mean(
        [len({r for r, _ in exact.search(q, 10)} & {r for r, _ in approximate.search(q, 10)}) / 10 for q in queries]
    )
    assert recall >= 0.95
    # A selective filter is answered exactly, whatever the lists say.
    allowed = PhotoSet(np.sort(ids), np.zeros(len(ids), bool))
    allowed.mask[::997] = True
    rows = [r for r, _ in approximate.search(queries[0], 5, within=allowed)]
    assert rows == [r for r, _ in exact.search(queries[0], 5, within=allowed)]
