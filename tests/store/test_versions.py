"""A table's version is asked of LanceDB only when its folder of versions changed (a stat says)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from shashin.store import Store


def _counting(store: Store) -> list[str]:
    """Record every time `store` opens a table object to ask LanceDB (its version, here)."""
    asked: list[str] = []
    opened = store._table

    def table(name: str) -> Any:
        asked.append(name)
        return opened(name)

    store._table = table  # type: ignore[method-assign]
    return asked


def test_versions_come_from_a_stat_until_another_process_commits(tmp_path: Path) -> None:
    writer = Store(tmp_path / "lib")
    reader = Store(tmp_path / "lib", create=False)
    time.sleep(1.1)  # the folders settle: a stat can be trusted
    asked = _counting(reader)
    before = reader._version("meta")
    assert reader._version("meta") == before and asked == ["meta"]  # the second: a stat, no LanceDB

    writer.set_meta("note", "changed elsewhere")
    assert reader._version("meta") == before + 1  # the folder changed: asked again, the new version
    time.sleep(1.1)
    asked.clear()
    assert [reader._version("meta") for _ in range(3)] == [before + 1] * 3
    assert asked == ["meta"]  # once to stamp the settled folder, then stats


def test_a_library_in_object_storage_always_asks(tmp_path: Path) -> None:
    store = Store(tmp_path / "lib")
    store.remote = True  # as for s3://… (no folder to stat)
    time.sleep(1.1)
    asked = _counting(store)
    store._version("meta"), store._version("meta")
    assert asked == ["meta", "meta"]
