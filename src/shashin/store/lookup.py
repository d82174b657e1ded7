"""Finding a photo by what a person or a file names it by: a path, a relative path, a file name, an id."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shashin.store.lance import Store
    from shashin.store.records import FileRow


def photo_finder(store: Store, files: dict[str, FileRow] | None = None) -> Callable[[str], str | None]:
    """A lookup from what a file of captions or queries names a photo by — an absolute path, a
    path relative to an indexed folder or to its parent, a file name unique in the library, or a
    photo id — to the photo id (None when it names none, or several)."""
    files = files if files is not None else store.files()
    by_path, by_name = _indexes(files, store.folders())
    ids = {row.photo_id for row in files.values()}

    def find(key: str) -> str | None:
        photo_id = by_path.get(os.path.normpath(key)) or by_path.get(key.strip("/"))
        if photo_id is None and key in ids:
            photo_id = key
        if photo_id is None:
            owners = by_name.get(os.path.basename(key), set())
            photo_id = next(iter(owners)) if len(owners) == 1 else None
        return photo_id

    return find


def _indexes(files: dict[str, FileRow], folders: list[str]) -> tuple[dict[str, str], dict[str, set[str]]]:
    by_path: dict[str, str] = {}
    by_name: dict[str, set[str]] = {}
    for path, row in files.items():
        by_path[path] = row.photo_id
        for base in {row.root, os.path.dirname(row.root)}:
            by_path[os.path.relpath(path, base)] = row.photo_id
        by_name.setdefault(os.path.basename(path), set()).add(row.photo_id)
    return by_path, by_name
