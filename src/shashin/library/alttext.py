"""Alt text out of the library: records for every photo with words, and writing them into photos."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from shashin.channels.ocr import OcrChannel
from shashin.export import AltRecord, Embedded, XmpRecord
from shashin.store import FileRow, Store


def alt_text_records(store: Store, langs: Sequence[str] = ("ja", "en")) -> list[AltRecord]:
    """Alt text and extended descriptions of every photo that has a caption or text in it."""
    from shashin.export import build_record

    files = store.files()
    by_photo: dict[str, FileRow] = {}
    for path in sorted(files):
        by_photo.setdefault(files[path].photo_id, files[path])
    captions = store.captions_for(list(by_photo))
    readable = OcrChannel.readable_texts(store, list(by_photo))
    records = []
    for photo_id, file in sorted(by_photo.items(), key=lambda item: item[1].path):
        text = readable.get(photo_id)
        record = build_record(photo_id, file.path, file.root, captions.get(photo_id, []), text, langs)
        if record is not None:
            records.append(record)
    return records


def embed_alt_text(store: Store, record: XmpRecord, *, backup: bool = True) -> Embedded:
    """Write a record's fields into its photo (see shashin.export.embed) and tell the library
    the file's new size and date, so the next index run does not take it for a new photo."""
    from shashin.export import embed
    from shashin.media import MediaError, hash_file

    with store.writer():
        done = embed(record, backup=backup)
        rows = store.file_rows_for([record.photo_id]).get(record.photo_id, [])
        row = next((r for r in rows if r.path == record.path), None)
        if row is not None:  # same photo, new bytes: keep its id, captions and channel outputs
            try:
                content = hash_file(record.path)
            except MediaError:
                content = None  # unreadable right after writing it: the next index run reads it
            if content is not None:
                store.put_files(
                    [dataclasses.replace(row, size=done.size, mtime_ns=done.mtime_ns, content_hash=content)]
                )
                photo = store.get_photos([record.photo_id]).get(record.photo_id)
                if photo is not None and photo.get("source_hash") == row.content:
                    # Only XMP text was added: the metadata the library read from the file still holds.
                    store.put_photos([{**photo, "source_hash": content}])
    return done
