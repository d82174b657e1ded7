"""The generic many-rows-per-photo table kind: what faces, keywords and regions will use."""

from __future__ import annotations

from pathlib import Path

import pytest

from shashin.store import Store
from shashin.store.rows import caption_row


def _caption(photo_id: str, lang: str, text: str) -> dict[str, object]:
    return caption_row(
        photo_id, "brief", lang, text=text, raw=text, source="human", backend="human",
        model=None, prompt=None, params=None, version="v",
    )  # fmt: skip


def test_rows_are_put_found_by_photo_replaced_by_key_and_deleted_by_photo(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put_rows(
        "captions", [_caption("p1", "en", "a red door"), _caption("p1", "ja", "赤い扉"), _caption("p2", "en", "a cat")]
    )
    found = store.rows_of("captions", ["p1", "p2", "p3"])
    assert sorted(row["lang"] for row in found["p1"]) == ["en", "ja"] and len(found["p2"]) == 1 and "p3" not in found
    assert all(row["created_at"] is not None for row in found["p1"])

    store.put_rows("captions", [_caption("p1", "en", "a blue door")])  # same key: replaced, not added
    texts = {row["lang"]: row["text"] for row in store.rows_of("captions", ["p1"])["p1"]}
    assert texts == {"en": "a blue door", "ja": "赤い扉"}
    shown = store.rows_of("captions", ["p1"], from_memory=True)["p1"]
    assert set(shown[0]) == {"caption_id", "photo_id", "prompt_set", "lang", "text", "status", "source"}

    store.delete_rows_of("captions", ["p1"])
    assert set(store.rows_of("captions", ["p1", "p2"])) == {"p2"}


def test_a_table_not_declared_many_per_photo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        Store(tmp_path / "db").put_rows("photos", [{"photo_id": "p1"}])
