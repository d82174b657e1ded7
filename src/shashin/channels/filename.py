"""File channel: a photo's file name, the folders it sits in and its camera, searched by keyword.

Its terms are computed from the scan (no model work) and stored with each file row.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, ClassVar

from shashin.channels.base import Channel, ChannelQuery, Highlight, Hit, ResultPage
from shashin.channels.keywords import highlight, rank_photos_by_documents
from shashin.store import Store
from shashin.text.tokenize import index_text


def file_fields(path: str, root: str, photo: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(field, text) pairs that describe one file: name, folders below the root's parent, camera."""
    file_path, root_path = PurePath(path), PurePath(root)
    try:
        folder = file_path.parent.relative_to(root_path.parent)
    except ValueError:
        folder = file_path.parent
    fields = [("file name", file_path.name), ("folder", str(folder))]
    if photo:
        camera = _camera(photo)
        if camera:
            fields.append(("camera", camera))
    return fields


def file_terms(path: str, root: str, photo: Mapping[str, Any] | None) -> str:
    """The tokenized text stored for a file and searched by this channel."""
    return index_text("\n".join(text for _, text in file_fields(path, root, photo)))


def _camera(photo: Mapping[str, Any]) -> str:
    make, model, lens = (photo.get(key) or "" for key in ("camera_make", "camera_model", "lens"))
    if make and model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS R6" reads as "Canon EOS R6"
    return " ".join(part for part in (make, model, lens) if part)


class FileChannel(Channel):
    """Keyword search over file names, folder names and camera make/model/lens."""

    name: ClassVar[str] = "file"
    description: ClassVar[str] = "file name, folders and camera"
    matches_words: ClassVar[bool] = True

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        def search(terms, n, require_all):  # type: ignore[no-untyped-def]
            return store.search_files(terms, limit=n, require_all=require_all, within=query.within)

        def texts(paths: list[str], owners: dict[str, str]) -> dict[str, str]:
            photo_ids = {owners[path] for path in paths}
            files, photos = (
                store.file_rows_for(photo_ids, from_memory=True),
                store.get_photos(photo_ids, from_memory=True),
            )
            wanted = set(paths)
            return {
                row.path: "\n".join(text for _, text in file_fields(row.path, row.root, photos.get(photo_id)))
                for photo_id, rows in files.items()
                for row in rows
                if row.path in wanted
            }

        # Several files may hold one photo: it ranks by its best file.
        return rank_photos_by_documents(query.keywords, search, texts, limit)

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        found: dict[str, list[Highlight]] = {}
        for photo_id, rows in page.files.items():
            seen: set[tuple[str, str]] = set()
            for row in rows:
                for field, text in file_fields(row.path, row.root, page.photos.get(photo_id)):
                    match = highlight(self.name, field, text, query.keywords) if (field, text) not in seen else None
                    seen.add((field, text))
                    if match:
                        found.setdefault(photo_id, []).append(match)
        return found
