"""Committing a batch in the order that makes any interrupted run resumable: thumbnails, then
photo rows, then file rows, then each channel's rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shashin.channels.base import IndexedChannel, PhotoFailure
from shashin.channels.filename import file_terms
from shashin.ingest.decode import DecodeJob
from shashin.ingest.orphans import reattach_returning
from shashin.ingest.scan import FoundFile
from shashin.media import DecodedPhoto, MediaError, UnreadableFile
from shashin.store import ErrorRow, FileRow, Store

if TYPE_CHECKING:
    pass
from shashin.ingest.reports import IndexReport
from shashin.ingest.work import PhotoWork


def channel_outputs(
    channel: IndexedChannel, decoded: list[DecodedPhoto], by_id: dict[str, PhotoWork]
) -> dict[str, dict[str, Any] | PhotoFailure]:
    """One channel's output (or failure) for each decoded photo that has work for it, by photo id."""
    todo = [photo for photo in decoded if channel.name in by_id[photo.photo_id].channels]
    return {photo.photo_id: output for photo, output in zip(todo, channel.process_batch(todo))} if todo else {}


def write_batch(
    store: Store,
    batch: list[tuple[DecodeJob, DecodedPhoto | MediaError]],
    by_id: dict[str, PhotoWork],
    outputs: dict[str, dict[str, dict[str, Any] | PhotoFailure]],
    versions: dict[str, str],
    report: IndexReport,
) -> None:
    """Commit one batch in resumable order: errors, thumbnails, photos, files, then each channel's rows.

    Every write is an upsert by key, so a batch written twice (a retried worker) leaves the same rows."""
    decoded: list[DecodedPhoto] = []
    errors: list[ErrorRow] = []
    for job, result in batch:
        item = by_id[job.photo_id]
        if isinstance(result, MediaError):
            # A file that cannot be read this time is tried again next run; one whose content does
            # not decode stands until it changes. A known photo keeps its file either way.
            stage = "read" if isinstance(result, UnreadableFile) else "decode"
            for found in item.new_files or [item.source]:
                errors.append(ErrorRow(found.path, found.root, stage, str(result), found.size, found.mtime_ns))
            continue
        decoded.append(result)
    if errors:
        store.put_errors(errors)

    read = [photo for photo in decoded if by_id[photo.photo_id].reads_photo]
    if read:
        rows = {
            photo.photo_id: _photo_row(
                photo, store.save_thumbnail(photo.photo_id, photo.thumbnail), by_id[photo.photo_id].source_hash
            )
            for photo in read
        }
        store.put_photos(list(rows.values()))
        files = [(found, photo.photo_id) for photo in read for found in by_id[photo.photo_id].new_files]
        if files:
            store.put_files([file_row(found, photo_id, rows[photo_id], photo_id) for found, photo_id in files])
            store.delete_errors([found.path for found, _ in files])
        fresh = [photo for photo in read if by_id[photo.photo_id].new_files]
        report.new_photos += len(fresh)
        report.refreshed_photos += len(read) - len(fresh)
        report.reattached += len(reattach_returning(store, [(photo.photo_id, photo.fingerprint) for photo in fresh]))

    for name, results in outputs.items():
        if not results:
            continue
        channel_rows: list[dict[str, Any]] = []
        for photo_id, output in results.items():
            if isinstance(output, PhotoFailure):
                channel_rows.append(
                    {"photo_id": photo_id, "version": versions[name], "status": "failed", "error": output.reason}
                )
                report.channels[name].failed += 1
            else:
                channel_rows.append(
                    {"photo_id": photo_id, "version": versions[name], "status": "done", "error": None, **output}
                )
                report.channels[name].processed += 1
        store.put_channel_rows(name, channel_rows)
    report.photos_processed += len(decoded)


def _photo_row(photo: DecodedPhoto, thumbnail: str, source_hash: str) -> dict[str, Any]:
    meta = photo.metadata
    return {
        "pixel_hash": photo.fingerprint,
        "source_hash": source_hash,
        "photo_id": photo.photo_id,
        "width": meta.width,
        "height": meta.height,
        "format": meta.format,
        "taken_at": meta.taken_at,
        "utc_offset": meta.utc_offset,
        "latitude": meta.latitude,
        "longitude": meta.longitude,
        "altitude": meta.altitude,
        "camera_make": meta.camera_make,
        "camera_model": meta.camera_model,
        "lens": meta.lens,
        "thumbnail": thumbnail,
    }


def file_row(found: FoundFile, photo_id: str, photo: dict[str, Any] | None, content: str) -> FileRow:
    return FileRow(
        found.path, photo_id, found.root, found.size, found.mtime_ns, file_terms(found.path, found.root, photo), content
    )
