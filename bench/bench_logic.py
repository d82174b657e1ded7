"""What "not" and "or" do to search quality on coco-cc76, with held-out truth.

The library gets each photo's first COCO caption (English) — what the caption channels search,
by keyword and by meaning (multilingual-e5-small). The truth comes from the other four captions,
which the library never sees: a photo shows a concept when at least two of them name it.

- "A -B" for pairs of concepts shown together in some photos and apart in others: of the photos
  the plain query "A" ranks in its top 20, how many showing B are removed (removal recall), how
  many removed do show B (removal precision), and how many showing A but not B stay (kept), per
  channel that removed them (caption keywords; caption vectors: "more like B than like A").
- "A OR B": recall@20 of the photos showing A or B, against the query "A B" and "A" alone.
- The same query sets through `shashin eval` (files written as its query files): MRR, Recall@10
  and nDCG@10 of "A -B" against "A" for the photos showing A but not B, and of "A OR B" against
  "A B" for the photos showing either.

    python bench/bench_logic.py [--queries DIR]   (DIR: keep the eval query files written)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COCO = REPO.parent / "shared" / "data" / "coco-cc76"
CONCEPTS = [
    "man", "woman", "people", "dog", "cat", "table", "street", "car", "train", "bus", "plate", "pizza",
    "food", "water", "tree", "building", "sign", "bed", "kitchen", "boy", "girl", "child", "horse",
    "field", "grass", "road", "motorcycle", "bike", "truck", "room", "window", "phone", "snow", "beach",
    "sky", "city", "umbrella", "bird", "sandwich", "cake", "elephant", "giraffe",
]  # fmt: skip


def shows(captions: list[str], concept: str) -> bool:
    pattern = re.compile(rf"\b{concept}(s|es)?\b", re.I)
    return sum(bool(pattern.search(caption)) for caption in captions) >= 2


MARGINS = (0.0, 0.02, 0.05, 1.0)  # 1.0: meaning channels never remove (keywords only)


def exclusion(library, pairs, having, file_names, margin):  # type: ignore[no-untyped-def]
    """Removal recall and precision, and what stays, of "A -B" over `pairs`, in A's top 20."""

    def names(response) -> list[str]:  # type: ignore[no-untyped-def]
        return [Path(r.path).name for r in response.results]

    b_in_top = removed_of_b = kept = should_keep = removed_in_top = removed_in_top_right = 0
    by_channel: dict[str, list[int]] = {}
    for a, b in pairs:
        top = names(library.search(a, limit=20))
        found = library.search(f"{a} -{b}", limit=76)
        remaining = set(names(found))
        [removal] = found.removed
        for photo_id, channel in removal.by.items():
            name = file_names[photo_id]
            if name in top:
                right = name in having[b]
                removed_in_top += 1
                removed_in_top_right += right
                by_channel.setdefault(channel, [0, 0])
                by_channel[channel][0] += 1
                by_channel[channel][1] += right
        for name in top:
            if name in having[b]:
                b_in_top += 1
                removed_of_b += name not in remaining
            elif name in having[a]:
                should_keep += 1
                kept += name in remaining
    channels = ", ".join(
        f"{channel} {total} ({right / max(1, total):.2f})" for channel, (total, right) in sorted(by_channel.items())
    )
    print(
        f"  margin {margin:4.2f}: removal recall {removed_of_b / max(1, b_in_top):.3f} (of {b_in_top}), "
        f"precision {removed_in_top_right / max(1, removed_in_top):.3f} (of {removed_in_top}), "
        f"kept {kept / max(1, should_keep):.3f} (of {should_keep}); removed by: {channels}"
    )


def write_queries(folder: Path, rows: list[dict[str, object]], name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def eval_sets(library, pairs, either_pairs, having, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The query sets as `shashin eval` query files, each beside its plain counterpart, and their scores."""
    from shashin.evaluation.queries import load_queries
    from shashin.library.evaluation import evaluate

    store = library._open(create=False)
    sets = {
        "A -B (relevant: A and not B)": [
            {"query": f"{a} -{b}", "relevant": sorted(having[a] - having[b]), "lang": "en"} for a, b in pairs
        ],
        "A    (relevant: A and not B)": [
            {"query": a, "relevant": sorted(having[a] - having[b]), "lang": "en"} for a, b in pairs
        ],
        "A OR B (relevant: A or B)": [
            {"query": f"{a} OR {b}", "relevant": sorted(having[a] | having[b]), "lang": "en"} for a, b in either_pairs
        ],
        "A B    (relevant: A or B)": [
            {"query": f"{a} {b}", "relevant": sorted(having[a] | having[b]), "lang": "en"} for a, b in either_pairs
        ],
    }
    print("through shashin eval (fused ranking; MRR, Recall@10, nDCG@10):")
    for n, (label, rows) in enumerate(sets.items()):
        path = write_queries(folder, rows, f"logic-{n}.jsonl")
        run = evaluate(library, load_queries(path, store))
        fused = run.summary()["all"]["fused"]
        print(
            f"  {label}: MRR {fused['mrr'].mean:.3f}, Recall@10 {fused['r@10'].mean:.3f}, "
            f"nDCG@10 {fused['ndcg@10'].mean:.3f} ({len(rows)} queries)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", default="", help="a folder to keep the eval query files in")
    arguments = parser.parse_args()
    from shashin import Library
    from shashin.config import load_settings
    from shashin.store import Store

    work = Path(tempfile.mkdtemp(prefix="shashin-bench-logic-"))
    try:
        first = Library(settings=load_settings({"db": str(work / "db"), "channels": "phash"}))
        first.index([COCO / "images"])
        first.import_captions(COCO / "captions.jsonl")  # the first caption of each photo
        truth: dict[str, dict[str, bool]] = {}
        for line in (COCO / "captions.jsonl").read_text().splitlines():
            row = json.loads(line)
            held_out = row["captions_en"][1:]
            truth[Path(row["image"]).name] = {c: shows(held_out, c) for c in CONCEPTS}
        having = {c: {name for name, t in truth.items() if t[c]} for c in CONCEPTS}
        file_names = {row.photo_id: Path(path).name for path, row in Store(work / "db", create=False).files().items()}

        def names(response) -> list[str]:  # type: ignore[no-untyped-def]
            return [Path(r.path).name for r in response.results]

        pairs = [
            (a, b)
            for a, b in combinations(CONCEPTS, 2)
            for a, b in ((a, b), (b, a))
            if having[a] & having[b] and having[a] - having[b]
        ]
        print(f'"A -B" on {len(pairs)} concept pairs (held-out truth, coco-cc76, first caption indexed):')
        for margin in MARGINS:
            library = Library(settings=load_settings({"db": str(work / "db"), "search.exclude_margin": str(margin)}))
            exclusion(library, pairs, having, file_names, margin)
        library = first
        either_pairs = [(a, b) for a, b in combinations(CONCEPTS, 2) if having[a] and having[b]][:60]
        recall: dict[str, list[float]] = {"A OR B": [], "A B": [], "A": []}
        for a, b in either_pairs:
            wanted = having[a] | having[b]
            for label, query in (("A OR B", f"{a} OR {b}"), ("A B", f"{a} {b}"), ("A", a)):
                top = set(names(library.search(query, limit=20)))
                recall[label].append(len(top & wanted) / min(20, len(wanted)))
        print(f'"A OR B" on {len(either_pairs)} pairs: recall@20 of photos showing A or B')
        for label, values in recall.items():
            print(f"  {label:7}: {sum(values) / len(values):.3f}")
        folder = Path(arguments.queries) if arguments.queries else work / "queries"
        eval_sets(library, pairs, either_pairs, having, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
