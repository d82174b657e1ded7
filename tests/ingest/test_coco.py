"""Real photos: the shared COCO development set indexes cleanly (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

from shashin.store import Store
from tests.conftest import COCO, CocoLibrary


def test_coco_photos_index_with_their_real_sizes(coco_library: CocoLibrary) -> None:
    library, report, rows = coco_library.library, coco_library.report, coco_library.rows
    assert report.new_photos == len(rows) and report.errors == [] and not report.failed
    assert report.channels["ocr"].processed == len(rows)

    store = Store(Path(library.path), create=False)
    by_path = {row.path: row.photo_id for row in store.files().values()}
    photos = store.get_photos(by_path.values())
    for row in rows:
        photo = photos[by_path[str(COCO / row["image"])]]
        assert (photo["width"], photo["height"]) == (row["width"], row["height"]), row["image"]

    again = library.index()
    assert again.unchanged_files == len(rows) and again.photos_processed == 0
