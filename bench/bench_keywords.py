"""Keyword structures side by side on the same documents and queries: which one shashin keeps.

Documents: the captions of bench_instant's synthetic library (100k by default), as shashin's
tokenizer and stemmer turn them into terms; queries: its 400 three-word queries, as terms too.
Each structure returns the top 200 documents by BM25 for the query's terms (any of them):

- shashin KeywordIndex: BM25 over CSC postings in numpy, saved and opened memory-mapped
  (store/memory.py), the row numbers as an array and as the (row, score, coverage) list search()
  hands to the channels;
- tantivy (pip install tantivy): the same terms fed pre-tokenized (whitespace tokenizer, so
  both see identical words), BM25 top-200 (addresses only, and with the stored row number read
  back, which a channel needs).

Reported: CPU per query (median, one thread), overlap of the top 10 and top 200 with shashin's,
build seconds and bytes on disk.

    python bench/bench_keywords.py --dir /var/tmp/shashin-bench [--size 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DEPTH = 200


def measure(search: Callable[[list[str]], list[int]], queries: list[list[str]]) -> tuple[float, list[list[int]]]:
    search(queries[0])
    times, found = [], []
    for terms in queries:
        started = time.process_time()
        found.append(search(terms))
        times.append(time.process_time() - started)
    return 1000 * statistics.median(times), found


def overlap(found: list[list[int]], reference: list[list[int]], k: int) -> float:
    return float(np.mean([len(set(a[:k]) & set(b[:k])) / max(1, min(k, len(b))) for a, b in zip(found, reference)]))


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="where bench_instant keeps its synthetic libraries")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    import pyarrow as pa

    from bench_instant import library
    from bench_peers import Data
    from shashin.store.memory import KeywordIndex
    from shashin.store.persisted import SearchCache
    from shashin.text.tokenize import search_form, terms

    data = Data(library(Path(args.dir), args.size))
    documents = [" ".join(terms(caption)) for caption in data.captions]
    queries = [terms(words) for words in data.q_words[: args.queries]]
    keys = np.array([f"{i:08d}".encode() for i in range(len(documents))])
    print(f"{os.cpu_count()} cores, one thread; {len(documents):,} documents; {len(queries)} queries; top-{DEPTH}")
    print(f"\n  {'structure':46} {'CPU ms':>7} {'top-10':>7} {'top-200':>8} {'build s':>8} {'disk MB':>8}")
    with tempfile.TemporaryDirectory(prefix="shashin-keywords-", dir=args.dir) as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        built = KeywordIndex(keys, keys, pa.array(documents), fold=search_form)
        cache = SearchCache(root / "shashin")
        cache.save("captions", ("bench",), 1, built.arrays())
        arrays = cache.open("captions", ("bench",), 1)
        assert arrays is not None
        index = KeywordIndex.opened(arrays, search_form)
        build_s, size = time.perf_counter() - started, folder_bytes(root / "shashin")
        listed_cpu, reference = measure(lambda q: [row for row, _, _ in index.search(q, DEPTH)], queries)
        print(
            f"  {'shashin KeywordIndex: (row, score, coverage)':46} {listed_cpu:7.2f} {1:7.2f} {1:8.2f} {build_s:8.1f} {size / 1e6:8.1f}"
        )

        try:
            import tantivy
        except ImportError as exc:
            print(f"  tantivy skipped: {exc}")
            return
        started = time.perf_counter()
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("row", stored=True, fast=True)
        builder.add_text_field("terms", stored=False, tokenizer_name="whitespace")
        schema = builder.build()
        (root / "tantivy").mkdir()
        writer_index = tantivy.Index(schema, path=str(root / "tantivy"))
        writer = writer_index.writer(heap_size=256_000_000, num_threads=1)
        for row, text in enumerate(documents):  # stemmed as shashin folds them
            writer.add_document(tantivy.Document(row=row, terms=" ".join(search_form(t) for t in text.split())))
        writer.commit()
        writer.wait_merging_threads()
        opened = tantivy.Index.open(str(root / "tantivy"))
        opened.reload()
        searcher = opened.searcher()
        build_s, size = time.perf_counter() - started, folder_bytes(root / "tantivy")
        folded = [[search_form(t) for t in q] for q in queries]  # the documents hold stemmed terms too

        def query_of(terms_: list[str]):  # type: ignore[no-untyped-def]
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "terms", t)) for t in terms_]
            )

        address_cpu, _ = measure(lambda q: [a.doc for _, a in searcher.search(query_of(q), DEPTH).hits], folded)

        def with_rows(terms_: list[str]) -> list[int]:
            return [searcher.doc(a)["row"][0] for _, a in searcher.search(query_of(terms_), DEPTH).hits]

        rows_cpu, found = measure(with_rows, folded)
        print(f"  {'tantivy, addresses only':46} {address_cpu:7.2f} {'':7} {'':8} {build_s:8.1f} {size / 1e6:8.1f}")
        print(
            f"  {'tantivy, row numbers read back':46} {rows_cpu:7.2f} {overlap(found, reference, 10):7.2f}"
            f" {overlap(found, reference, DEPTH):8.2f}"
        )


if __name__ == "__main__":
    main()
