"""One photo as the library knows it: details, alt text, and its original file opened safely."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from shashin import storage
from shashin.channels.image import ImageChannel
from shashin.channels.labels import LabelsChannel
from shashin.channels.metadata import metadata_of
from shashin.channels.ocr import OcrChannel
from shashin.library.errors import LibraryError
from shashin.store import FileRow, Store

_CAPTION_FIELDS = ("lang", "prompt_set", "text", "status", "error", "source", "backend", "model", "created_at")


@dataclass(frozen=True)
class PhotoDetail:
    """One photo: its files, metadata, place, captions with provenance, OCR text and tags."""

    photo_id: str
    paths: list[str]
    metadata: dict[str, Any]
    place: str | None
    captions: list[dict[str, Any]]
    ocr_text: str | None
    ocr_lines: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    kept: dict[str, Any]  # keywords, rating, names… from other apps, and a person's tags (channels.metadata)
    labels: list[dict[str, Any]] = field(default_factory=list)  # what the built-in labels model says it shows

    def alt_text(self, lang: str = "en") -> str:
        from shashin.alttext import alt_text
        from shashin.text.readable import readable_text

        name = os.path.basename(self.paths[0]) if self.paths else self.photo_id
        return alt_text(self.captions, readable_text(self.ocr_lines) or None, name, lang, self.labels)

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return value.isoformat() if hasattr(value, "isoformat") else value

        return {
            "photo_id": self.photo_id,
            "paths": self.paths,
            "metadata": {k: plain(v) for k, v in self.metadata.items()},
            "place": self.place,
            "captions": [{k: plain(v) for k, v in c.items()} for c in self.captions],
            "ocr_text": self.ocr_text,
            "ocr_lines": self.ocr_lines,
            "tags": self.tags,
            "kept": self.kept,
            "labels": self.labels,
            "alt_text": {"en": self.alt_text("en"), "ja": self.alt_text("ja")},
        }


@dataclass
class OriginalFile:
    """A photo's file, open for reading: `handle` is positioned at the start and must be closed."""

    path: str
    size: int
    handle: BinaryIO


def _open_indexed(row: FileRow, roots: Sequence[str]) -> tuple[int, BinaryIO]:
    """(size, open handle) of a local file that is still what `row` recorded; OSError otherwise."""
    import errno
    import stat

    from shashin.media import MediaError, content_hash

    target = row.path
    if os.path.islink(row.path):
        target = os.path.realpath(row.path)
        if not any(storage.inside(target, root) for root in roots):
            raise OSError(errno.EPERM, "a symbolic link that points outside the library's folders")
    descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    handle = os.fdopen(descriptor, "rb")
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EPERM, "not a regular file")
        if (info.st_size, info.st_mtime_ns) != (row.size, row.mtime_ns):
            try:  # touched or copied over: serve it only if its bytes are the ones indexed
                same = content_hash(handle) == row.content
            except MediaError:
                same = False
            if not same:
                raise OSError(errno.ESTALE, "the file changed since it was indexed")
            handle.seek(0)
        return info.st_size, handle
    except BaseException:
        handle.close()
        raise


def photo_detail(store: Store, photo_id: str) -> PhotoDetail | None:
    """Everything the library knows about one photo (None when it has no such photo)."""
    from shashin.search.filters import places_of

    row = store.get_photos([photo_id]).get(photo_id)
    if row is None:
        return None
    files = store.file_rows_for([photo_id]).get(photo_id, [])
    captions = sorted(store.captions_for([photo_id]).get(photo_id, []), key=lambda c: (c["prompt_set"], c["lang"]))
    ocr = OcrChannel.read_texts(store, [photo_id], lines=True).get(photo_id, {})
    place = places_of({photo_id: row}).get(photo_id)
    return PhotoDetail(
        photo_id=photo_id,
        paths=[f.path for f in files],
        metadata={
            k: v
            for k, v in row.items()
            if k not in ("photo_id", "thumbnail", "indexed_at", "pixel_hash", "source_hash")
        },
        place=place.describe() if place else None,
        captions=[{k: c[k] for k in _CAPTION_FIELDS} for c in captions],
        ocr_text=ocr.get("text"),
        ocr_lines=ocr.get("lines", []),
        tags=ImageChannel.tags_of(store, photo_id),
        kept=metadata_of(store, [photo_id]).get(photo_id, {}),
        labels=LabelsChannel.labels_of(store, photo_id),
    )


def alt_texts(store: Store, photo_ids: Sequence[str], lang: str = "en") -> dict[str, str]:
    """Alt text for each photo (see shashin.alttext), read from the search's in-memory copies."""
    from shashin.alttext import alt_text

    captions = store.captions_for(photo_ids, from_memory=True)
    readable = OcrChannel.readable_texts(store, photo_ids, from_memory=True)
    files = store.file_rows_for(photo_ids, from_memory=True)
    labels = store.channel_rows(LabelsChannel.name, photo_ids, ["tags"], from_memory=True)
    texts = {}
    for photo_id in photo_ids:
        name = os.path.basename(files[photo_id][0].path) if files.get(photo_id) else photo_id
        shown = (labels.get(photo_id) or {}).get("tags") or []
        texts[photo_id] = alt_text(captions.get(photo_id, []), readable.get(photo_id), name, lang, shown)
    return texts


def open_original(store: Store, photo_id: str) -> OriginalFile:
    """The photo's original file, opened, once it is known to be what was indexed: a regular
    file (a symbolic link only when it points inside one of the library's folders) whose size
    and date are those indexed, or whose bytes still hash to what was indexed. Whatever a path
    points to now is never served just because the library once stored it.

    Raises LibraryError saying why no file of the photo can be served."""
    rows = store.file_rows_for([photo_id]).get(photo_id, [])
    if not rows:
        raise LibraryError(f"no photo {photo_id} in this library")
    roots = [os.path.realpath(root) for root in store.folders() if not storage.is_remote(root)]
    reasons = []
    for row in rows:
        if storage.is_remote(row.path):
            if storage.exists(row.path):
                return OriginalFile(row.path, storage.size(row.path), storage.open_binary(row.path))
            reasons.append(f"{row.path}: not found")
            continue
        try:
            return OriginalFile(row.path, *_open_indexed(row, roots))
        except OSError as exc:
            reasons.append(f"{os.path.basename(row.path)}: {exc.strerror or exc}")
    raise LibraryError(
        f"the original of photo {photo_id} cannot be served ({'; '.join(reasons)}); "
        "if it was moved or edited, `shashin index` brings the library up to date"
    )
