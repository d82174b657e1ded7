"""Real photos: the shared COCO development set indexes cleanly (skipped where it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

from shashin import Library
from shashin.store import Store


def test_coco_photos_index_with_their_real_sizes(tmp_path: Path, coco: Path) -> None:
    library = Library(tmp_path / "db")
    report = library.index([coco / "images"])
    rows = [json.loads(line) for line in (coco / "captions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert report.new_photos == len(rows) and report.errors == [] and not report.failed
    assert report.channels["ocr"].processed == len(rows)

    store = Store(library.path, create=False)
    by_path = {row.path: row.photo_id for row in store.files().values()}
    photos = store.get_photos(by_path.values())
    for row in rows:
        photo = photos[by_path[str(coco / row["image"])]]
        assert (photo["width"], photo["height"]) == (row["width"], row["height"]), row["image"]

    again = library.index()
    assert again.unchanged_files == len(rows) and again.photos_processed == 0
