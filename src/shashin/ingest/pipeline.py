"""An index run: scan folders, hash what changed, decode what is new, run pending channel work, commit.

Write order makes any interrupted run resumable: per batch, thumbnails, then photo rows, then
file rows, then each channel's rows. A photo without a file row is found again by its hash; a
file row without channel rows leaves that channel pending; nothing is done twice on rerun.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shashin import storage
from shashin.channels.base import IndexedChannel, ModelUnavailable, PhotoFailure
from shashin.channels.filename import file_terms
from shashin.config import Settings
from shashin.ingest.decode import DecodeJob, DecodePool
from shashin.ingest.scan import FoundFile, ScanResult, scan_folder
from shashin.media import DecodedPhoto, MediaError, hash_file
from shashin.progress import Progress, SilentProgress
from shashin.store import ErrorRow, FileRow, Store

if TYPE_CHECKING:
    from shashin.scale.ray_ingest import RayOptions

_HASH_THREADS = 4  # hashing is I/O bound and releases the GIL
_OPTIMIZE_EVERY = 200  # batches between compactions during long runs


@dataclass
class ChannelReport:
    """What one channel did in a run."""

    processed: int = 0
    failed: int = 0
    pending: int = 0  # work it had to do this run
    refreshed: int = 0  # stored outputs updated without decoding (e.g. tags from vectors)
    unavailable: str | None = None


@dataclass
class IndexReport:
    """The outcome of an index run, for people (CLI) and programs (--json)."""

    folders: list[str] = field(default_factory=list)
    missing_folders: list[str] = field(default_factory=list)
    files_found: int = 0
    unchanged_files: int = 0
    new_photos: int = 0
    changed_files: int = 0
    moved_files: int = 0  # files whose content the library already had (moved, copied, renamed)
    removed_files: int = 0
    removed_photos: int = 0
    photos_processed: int = 0  # photos decoded and worked on
    channels: dict[str, ChannelReport] = field(default_factory=dict)
    errors: list[ErrorRow] = field(default_factory=list)  # files under these folders that failed
    seconds: float = 0.0
    work_seconds: float = 0.0

    @property
    def photos_per_second(self) -> float:
        return self.photos_processed / self.work_seconds if self.work_seconds > 0 else 0.0

    @property
    def failed(self) -> bool:
        """True when some file or some photo's channel work failed."""
        return bool(self.errors) or any(c.failed for c in self.channels.values())


@dataclass
class PhotoWork:
    """One photo to decode: new (needs metadata, thumbnail) and/or with pending channels."""

    photo_id: str
    source: FoundFile  # the file that is decoded
    new_files: list[FoundFile]  # file rows to write with the photo (new content only)
    channels: set[str]


def index_folders(
    store: Store,
    roots: Sequence[str],
    channels: Sequence[IndexedChannel],
    settings: Settings,
    progress: Progress | None = None,
    *,
    retry_failed: bool = False,
    derived: Sequence[DerivedChannel] = (),
    cluster: RayOptions | None = None,
) -> IndexReport:
    """Bring the library up to date with `roots`; per-file problems are recorded, never raised.

    `derived` channels compute from stored outputs rather than pixels (caption vectors from
    captions); they are refreshed at the end. With `cluster`, decoding and channel work run on a
    Ray cluster (shashin.scale); scanning, planning and the final refresh stay here.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    report = IndexReport(folders=list(roots))
    for channel in [*channels, *derived]:
        report.channels[channel.name] = ChannelReport()

    scans = _scan(store, roots, report, progress)
    known = store.files()
    known_errors = {error.path: error for error in store.errors()}
    existing_photos = store.photo_ids()

    to_hash, rerooted = _classify(scans, known, known_errors, report)
    hashed = _hash(to_hash, report, progress) | rerooted
    new_content = _record_known_content(store, hashed, known, existing_photos, report)
    _forget_missing(store, scans, known, known_errors, report)
    report.removed_photos += len(store.delete_orphan_photos())

    work = _plan(store, new_content, channels, report, retry_failed)
    active = _load_channels(store, channels, work, report, progress)
    work_started = time.monotonic()
    if cluster is not None:
        from shashin.scale.ray_ingest import process_on_ray

        process_on_ray(store, work, active, settings, report, progress, cluster)
    else:
        _process(store, work, active, settings, report, progress)
    report.work_seconds = time.monotonic() - work_started
    _refresh(store, [*channels, *derived], report, progress)

    report.removed_photos += len(store.delete_orphan_photos())
    progress.phase("optimizing", 0)
    store.optimize()
    scanned = {scan.root for scan in scans}
    report.errors = [error for error in store.errors() if error.root in scanned]
    report.seconds = time.monotonic() - started
    return report


def _scan(store: Store, roots: Sequence[str], report: IndexReport, progress: Progress) -> list[ScanResult]:
    scans: list[ScanResult] = []
    progress.phase("scanning", len(roots))
    for root in roots:
        if not storage.is_folder(root):
            # An unmounted drive must not look like a folder whose photos were all deleted.
            report.missing_folders.append(root)
            progress.note(f"folder {root} is missing; its photos are kept until it is back")
        else:
            scans.append(scan_folder(root, skip=str(store.root)))
        progress.advance()
    return scans


def _classify(
    scans: list[ScanResult],
    known: dict[str, FileRow],
    known_errors: dict[str, ErrorRow],
    report: IndexReport,
) -> tuple[list[FoundFile], dict[str, tuple[FoundFile, str]]]:
    """Files whose bytes must be read, and known files now under a folder that contains their old one."""
    to_hash: list[FoundFile] = []
    rerooted: dict[str, tuple[FoundFile, str]] = {}
    for scan in scans:
        report.files_found += len(scan.files)
        for found in scan.files:
            row = known.get(found.path)
            if row is not None and (row.size, row.mtime_ns) == (found.size, found.mtime_ns):
                if row.root == found.root:
                    report.unchanged_files += 1
                else:
                    rerooted[found.path] = (found, row.photo_id)  # now under a folder that contains its old one
                continue
            error = known_errors.get(found.path)
            if error is not None and error.stage != "scan" and (error.size, error.mtime_ns) == (found.size, found.mtime_ns):
                continue  # failed before and has not changed since: its error stands
            to_hash.append(found)
    return to_hash, rerooted


def _hash(files: list[FoundFile], report: IndexReport, progress: Progress) -> dict[str, tuple[FoundFile, str]]:
    """path -> (file, content id) for the files that could be read; the others become errors."""
    hashed: dict[str, tuple[FoundFile, str]] = {}
    progress.phase("reading files", len(files))

    def digest(found: FoundFile) -> tuple[FoundFile, str | MediaError]:
        try:
            return found, hash_file(found.path)
        except MediaError as exc:
            return found, exc

    with ThreadPoolExecutor(_HASH_THREADS) as threads:
        for found, result in threads.map(digest, files):
            if isinstance(result, MediaError):
                report.errors.append(ErrorRow(found.path, found.root, "read", str(result), found.size, found.mtime_ns))
            else:
                hashed[found.path] = (found, result)
            progress.advance()
    return hashed


def _record_known_content(
    store: Store,
    hashed: dict[str, tuple[FoundFile, str]],
    known: dict[str, FileRow],
    existing_photos: set[str],
    report: IndexReport,
) -> dict[str, list[FoundFile]]:
    """Write file rows for content the library has (moves, copies, touched files); return new content."""
    new_content: dict[str, list[FoundFile]] = {}
    known_content: list[tuple[FoundFile, str]] = []
    replaced: list[str] = []
    for path, (found, photo_id) in hashed.items():
        previous = known.get(path)
        if previous is not None and previous.photo_id != photo_id:
            report.changed_files += 1
            replaced.append(path)  # the path no longer holds its old photo
        if photo_id in existing_photos:
            known_content.append((found, photo_id))
            if previous is None:
                report.moved_files += 1
            elif previous.photo_id == photo_id:
                report.unchanged_files += 1  # touched: same bytes, new timestamp
        else:
            new_content.setdefault(photo_id, []).append(found)
    store.delete_files(replaced)
    if known_content:
        photos = store.get_photos({photo_id for _, photo_id in known_content})
        store.put_files([_file_row(found, photo_id, photos.get(photo_id)) for found, photo_id in known_content])
        store.delete_errors([found.path for found, _ in known_content])
    return new_content


def _forget_missing(
    store: Store,
    scans: list[ScanResult],
    known: dict[str, FileRow],
    known_errors: dict[str, ErrorRow],
    report: IndexReport,
) -> None:
    """Drop files that are gone from scanned folders, and refresh their scan errors."""
    present: set[str] = set()
    scan_errors: list[ErrorRow] = []
    for scan in scans:
        present.update(found.path for found in scan.files)
        scan_errors.extend(scan.errors)
    scanned = {scan.root for scan in scans}
    readable = present - {error.path for error in report.errors}
    gone = [path for path, row in known.items() if row.root in scanned and path not in readable]
    if gone:
        store.delete_files(gone)
        report.removed_files += len(gone)
    # Scan errors are found afresh each run; decode errors stand until their file changes or goes.
    current_scan_errors = {error.path for error in scan_errors}
    stale = [
        path for path, error in known_errors.items()
        if error.root in scanned
        and ((error.stage == "scan" and path not in current_scan_errors) or (error.stage != "scan" and path not in present))
    ]
    store.delete_errors(stale)
    store.put_errors(scan_errors + report.errors)


def _plan(
    store: Store,
    new_content: dict[str, list[FoundFile]],
    channels: Sequence[IndexedChannel],
    report: IndexReport,
    retry_failed: bool,
) -> list[PhotoWork]:
    """Photos to decode: new content, and photos with channel work not done at the current version."""
    all_channels = {channel.name for channel in channels}
    work: dict[str, PhotoWork] = {
        photo_id: PhotoWork(photo_id, files[0], files, set(all_channels)) for photo_id, files in new_content.items()
    }
    photo_ids = store.photo_ids()
    for channel in channels:
        version = channel.version()
        settled = {"done", "failed"} if not retry_failed else {"done"}
        states = store.channel_states(channel.name)
        pending = [
            pid for pid in photo_ids
            if pid not in work and not (pid in states and states[pid][0] == version and states[pid][1] in settled)
        ]
        report.channels[channel.name].pending = len(pending) + len(new_content)
        if not pending:
            continue
        files = store.file_rows_for(pending)
        for photo_id in pending:
            rows = [row for row in files.get(photo_id, []) if storage.reachable(row.path)]
            if not rows:
                continue  # its folder is missing: the work waits until it is back
            source = FoundFile(rows[0].path, rows[0].root, rows[0].size, rows[0].mtime_ns)
            entry = work.setdefault(photo_id, PhotoWork(photo_id, source, [], set()))
            entry.channels.add(channel.name)
    return sorted(work.values(), key=lambda w: w.source.path)


def _load_channels(
    store: Store,
    channels: Sequence[IndexedChannel],
    work: list[PhotoWork],
    report: IndexReport,
    progress: Progress,
) -> list[IndexedChannel]:
    """Load the models of channels that have work; an unavailable one is reported and skipped."""
    needed = {name for item in work for name in item.channels}
    active: list[IndexedChannel] = []
    for channel in channels:
        if channel.name not in needed:
            continue  # nothing to do: its model is not even loaded
        progress.phase(f"loading {channel.name} model", 0)
        try:
            channel.load()
        except ModelUnavailable as exc:
            report.channels[channel.name].unavailable = str(exc)
            store.set_meta(f"channel.{channel.name}.unavailable", str(exc))
            progress.note(f"channel '{channel.name}' is unavailable: {exc}")
            continue
        store.set_meta(f"channel.{channel.name}.unavailable", "")
        channel.prepare_store(store)
        active.append(channel)
    return active


class DerivedChannel(Protocol):
    """A channel computed from stored outputs, not pixels: refresh() brings it up to date."""

    name: str

    def refresh(self, store: Store) -> int: ...


def _refresh(store: Store, channels: Sequence[DerivedChannel], report: IndexReport, progress: Progress) -> None:
    """Let channels update what they derive from stored outputs (tags from image vectors, caption vectors)."""
    if channels:
        progress.phase("refreshing derived outputs", 0)
    for channel in channels:
        try:
            report.channels[channel.name].refreshed = channel.refresh(store)
        except ModelUnavailable as exc:
            report.channels[channel.name].unavailable = str(exc)
            progress.note(f"channel '{channel.name}' could not refresh: {exc}")


def decode_workers(settings: Settings, accelerated: bool) -> int:
    """How many decode processes to run: the setting, or one chosen from the cores and devices."""
    if settings.workers >= 0:
        return settings.workers
    cores = os.cpu_count() or 2
    if accelerated:
        return max(1, min(cores - 2, 32))  # a GPU eats photos faster than one core decodes them
    # Measured (bench/bench_index.py): on 2 cores a decode process only competes with the CPU
    # models, so decode in-process there; with more cores, overlap decoding with inference.
    return 0 if cores <= 2 else min(4, cores // 4 or 1)


def _process(
    store: Store,
    work: list[PhotoWork],
    channels: list[IndexedChannel],
    settings: Settings,
    report: IndexReport,
    progress: Progress,
) -> None:
    work = runnable(work, channels)
    progress.phase("indexing photos", len(work))
    if not work:
        return
    jobs = decode_jobs(work, channels, settings)
    by_id = {item.photo_id: item for item in work}
    batch_size = commit_batch_size(settings, channels)
    accelerated = any(channel.uses_accelerator() for channel in channels)
    with DecodePool(decode_workers(settings, accelerated), ahead=2 * batch_size) as pool:
        for number, batch in enumerate(_batches(pool.decode(jobs), batch_size), start=1):
            _commit_batch(store, batch, by_id, channels, report)
            progress.advance(len(batch))
            if number % _OPTIMIZE_EVERY == 0:
                store.optimize()


def runnable(work: list[PhotoWork], channels: Sequence[IndexedChannel]) -> list[PhotoWork]:
    """The photos with something to do now: new ones, and those pending for a loaded channel."""
    active = {channel.name for channel in channels}
    return [item for item in work if item.new_files or item.channels & active]


def commit_batch_size(settings: Settings, channels: Sequence[IndexedChannel]) -> int:
    """Photos per committed batch: the setting, or more when a channel batches larger."""
    return max([settings.batch_size, *(channel.batch_size() for channel in channels)])


def decode_jobs(work: Sequence[PhotoWork], channels: Sequence[IndexedChannel], settings: Settings) -> Iterator[DecodeJob]:
    """What to decode for each photo: its pending channels' renditions, and a thumbnail if it is new."""
    renditions = {channel.name: channel.rendition() for channel in channels}
    for item in work:
        yield DecodeJob(
            item.source.path,
            item.photo_id,
            settings.max_image_pixels,
            {name: rendition for name, rendition in renditions.items() if name in item.channels},
            settings.thumbnail_size if item.new_files else 0,
        )


def _batches(
    results: Iterator[tuple[DecodeJob, DecodedPhoto | MediaError]], size: int
) -> Iterator[list[tuple[DecodeJob, DecodedPhoto | MediaError]]]:
    batch: list[tuple[DecodeJob, DecodedPhoto | MediaError]] = []
    for result in results:
        batch.append(result)
        if len(batch) >= max(1, size):
            yield batch
            batch = []
    if batch:
        yield batch


def _commit_batch(
    store: Store,
    batch: list[tuple[DecodeJob, DecodedPhoto | MediaError]],
    by_id: dict[str, PhotoWork],
    channels: list[IndexedChannel],
    report: IndexReport,
) -> None:
    decoded = [result for _, result in batch if not isinstance(result, MediaError)]
    outputs = {channel.name: channel_outputs(channel, decoded, by_id) for channel in channels}
    write_batch(store, batch, by_id, outputs, {channel.name: channel.version() for channel in channels}, report)


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
            for found in item.new_files or [item.source]:
                errors.append(ErrorRow(found.path, found.root, "decode", str(result), found.size, found.mtime_ns))
            continue
        decoded.append(result)
    if errors:
        store.put_errors(errors)
        store.delete_files([error.path for error in errors])  # the path no longer holds its old photo

    fresh = [photo for photo in decoded if by_id[photo.photo_id].new_files]
    if fresh:
        rows = {photo.photo_id: _photo_row(photo, store.save_thumbnail(photo.photo_id, photo.thumbnail)) for photo in fresh}
        store.put_photos(list(rows.values()))
        files = [(found, photo.photo_id) for photo in fresh for found in by_id[photo.photo_id].new_files]
        store.put_files([_file_row(found, photo_id, rows[photo_id]) for found, photo_id in files])
        store.delete_errors([found.path for found, _ in files])
        report.new_photos += len(fresh)

    for name, results in outputs.items():
        if not results:
            continue
        channel_rows: list[dict[str, Any]] = []
        for photo_id, output in results.items():
            if isinstance(output, PhotoFailure):
                channel_rows.append({"photo_id": photo_id, "version": versions[name], "status": "failed", "error": output.reason})
                report.channels[name].failed += 1
            else:
                channel_rows.append({"photo_id": photo_id, "version": versions[name], "status": "done", "error": None, **output})
                report.channels[name].processed += 1
        store.put_channel_rows(name, channel_rows)
    report.photos_processed += len(decoded)


def _photo_row(photo: DecodedPhoto, thumbnail: str) -> dict[str, Any]:
    meta = photo.metadata
    return {
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


def _file_row(found: FoundFile, photo_id: str, photo: dict[str, Any] | None) -> FileRow:
    return FileRow(found.path, photo_id, found.root, found.size, found.mtime_ns, file_terms(found.path, found.root, photo))
