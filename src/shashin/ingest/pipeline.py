"""An index run: scan folders, hash what changed, decode what is new, run pending channel work, commit.

Write order makes any interrupted run resumable: per batch, thumbnails, then photo rows, then
file rows, then each channel's rows. A photo without a file row is found again by its hash; a
file row without channel rows leaves that channel pending; nothing is done twice on rerun.

A photo is more than its bytes: a file whose metadata another app edited (same pixels, see
shashin.fingerprint) keeps its photo, a file that cannot be read this time keeps it too, and what
a person wrote about a photo that does leave the library is kept as an orphan (ingest.orphans).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from shashin import storage
from shashin.channels.base import DerivedChannel, IndexedChannel, ModelUnavailable, PhotoFailure
from shashin.config import Settings
from shashin.ingest.changes import (
    STANDING_ERRORS,
    carry_same_pixels,
    classify,
    forget_missing,
    hash_files,
    raw_twins,
    record_known_content,
    remove_orphan_photos,
    scan_roots,
)
from shashin.ingest.commit import channel_outputs, write_batch
from shashin.ingest.crashes import InFlight, after_a_crash
from shashin.ingest.decode import DecodeJob, DecodePool
from shashin.ingest.estimate import RunEstimate, channel_work
from shashin.ingest.reports import ChannelReport, IndexReport
from shashin.ingest.scan import FoundFile
from shashin.ingest.work import PhotoWork
from shashin.media import DecodedPhoto, MediaError
from shashin.progress import Progress, SilentProgress
from shashin.store import ErrorRow, FileRow, Store

if TYPE_CHECKING:
    from shashin.ingest.runner import Runner

_OPTIMIZE_EVERY = 200  # batches between compactions during long runs


def index_folders(
    store: Store,
    roots: Sequence[str],
    channels: Sequence[IndexedChannel],
    settings: Settings,
    progress: Progress | None = None,
    *,
    retry_failed: bool = False,
    derived: Sequence[IndexedChannel | DerivedChannel] = (),
    runner: Runner | None = None,
    within: Sequence[str] | None = None,
) -> IndexReport:
    """Bring the library up to date with `roots`; per-file problems are recorded, never raised.
    With `within` (paths a watcher saw change), only those files and folders are looked at.

    `derived` channels compute from stored outputs rather than pixels (caption vectors from
    captions); they are refreshed at the end. With a `runner` (a Ray cluster: shashin.scale), decoding
    and channel work run there; scanning, planning and the final refresh stay here.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    report = IndexReport(folders=list(roots))
    for name in [c.name for c in channels] + [d.name for d in derived]:
        report.channels[name] = ChannelReport()
    suspects = after_a_crash(store, retry_failed, progress)

    scans = scan_roots(store, roots, report, progress, within)
    known = store.files()
    known_errors = {error.path: error for error in store.errors()}
    existing_photos = store.photo_ids()

    to_hash, rerooted = classify(scans, known, known_errors, report)
    hashed = hash_files(to_hash, report, progress) | rerooted
    owners = {row.content: row.photo_id for row in known.values()} | {pid: pid for pid in existing_photos}
    twins = raw_twins(hashed, known, owners)
    owners |= twins
    new_content, replaced = record_known_content(store, hashed, known, owners, report, set(twins))
    gone = forget_missing(store, scans, known, known_errors, report)
    carry_same_pixels(store, new_content, settings, report, progress)
    last_paths: dict[str, list[str]] = {}
    for row in replaced + gone:
        last_paths.setdefault(row.photo_id, []).append(row.path)
    remove_orphan_photos(store, report, last_paths)

    work = _plan(store, new_content, channels, report, retry_failed, known_errors)
    active = _load_channels(store, channels, work, report, progress)
    work_started = time.monotonic()
    if runner is not None:
        runner.index(store, work, active, settings, report, progress)
    else:
        _process(store, work, active, settings, report, progress, suspects)
    report.work_seconds = time.monotonic() - work_started
    _refresh(store, [*derived, *channels], report, progress)  # kept metadata first: faces take names from it

    remove_orphan_photos(store, report, {})
    progress.phase("optimizing", 0)
    store.optimize()
    scanned = {scan.root for scan in scans}
    report.errors = [error for error in store.errors() if error.root in scanned]
    report.seconds = time.monotonic() - started
    return report


def _plan(
    store: Store,
    new_content: dict[str, list[FoundFile]],
    channels: Sequence[IndexedChannel],
    report: IndexReport,
    retry_failed: bool,
    known_errors: dict[str, ErrorRow],
) -> list[PhotoWork]:
    """Photos to decode: new content, photos whose metadata must be read again, and photos with
    channel work not done at the current version."""
    all_channels = {channel.name for channel in channels}
    work: dict[str, PhotoWork] = {
        photo_id: PhotoWork(photo_id, files[0], files, set(all_channels), source_hash=photo_id)
        for photo_id, files in new_content.items()
    }
    photo_ids = store.photo_ids()
    pending: dict[str, set[str]] = {}
    for channel in channels:
        version = channel.version()
        settled = {"done", "failed"} if not retry_failed else {"done"}
        states = store.channel_states(channel.name)
        waiting = [
            pid
            for pid in photo_ids
            if pid not in work and not (pid in states and states[pid][0] == version and states[pid][1] in settled)
        ]
        report.channels[channel.name].pending = len(waiting) + len(new_content)
        for photo_id in waiting:
            pending.setdefault(photo_id, set()).add(channel.name)
    files: dict[str, list[FileRow]] = {}
    for row in sorted(store.files().values(), key=lambda r: r.path):
        files.setdefault(row.photo_id, []).append(row)
    thumbnails = store.thumbnail_ids()
    for photo_id, (pixels, source) in store.photo_hashes().items():
        rows = files.get(photo_id, [])
        # Read again: a photo whose pixels were never fingerprinted (a library from before), whose
        # files no longer hold the bytes its metadata came from (edited by another app), or whose
        # thumbnail is gone.
        refresh = (
            not pixels
            or (bool(rows) and source not in {row.content for row in rows})
            or (thumbnails is not None and photo_id not in thumbnails)
        )
        if photo_id in work or (photo_id not in pending and not refresh):
            continue
        usable = [row for row in rows if storage.reachable(row.path) and not _stands(known_errors.get(row.path), row)]
        if not usable:
            continue  # its folder is missing or its file failed to decode: the work waits
        row = usable[0]
        source_file = FoundFile(row.path, row.root, row.size, row.mtime_ns)
        work[photo_id] = PhotoWork(
            photo_id, source_file, [], pending.get(photo_id, set()), refresh=refresh, source_hash=row.content
        )
    return sorted(work.values(), key=lambda w: w.source.path)


def _stands(error: ErrorRow | None, row: FileRow) -> bool:
    return (
        error is not None
        and error.stage in STANDING_ERRORS
        and (error.size, error.mtime_ns) == (row.size, row.mtime_ns)
    )


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


def _refresh(
    store: Store, channels: Sequence[IndexedChannel | DerivedChannel], report: IndexReport, progress: Progress
) -> None:
    """Let channels update what they derive from stored outputs (tags from image vectors, caption vectors)."""
    if channels:
        progress.phase("refreshing derived outputs", 0)
    for channel in channels:
        try:
            refreshed = (
                channel.refresh(store, progress) if isinstance(channel, DerivedChannel) else channel.refresh(store)
            )
            report.channels[channel.name].refreshed = refreshed
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
    suspects: dict[str, int] | None = None,
) -> None:
    suspects = suspects or {}
    work = runnable(work, channels)
    estimate = RunEstimate.before(store, channel_work(work, channels), len(work))
    if work:
        progress.note(estimate.plan())
    progress.phase("indexing photos", len(work))
    batch_size = commit_batch_size(settings, channels)
    first = [item for item in work if item.photo_id in suspects]  # one at a time: a crash names its photo
    rest = [item for item in work if item.photo_id not in suspects]
    try:
        for items, size in ((first, 1), (rest, batch_size)):
            if items:
                _process_batches(store, items, channels, settings, report, progress, size, suspects, estimate)
    finally:
        # A Python error or Ctrl-C is no photo's fault: only a process that dies leaves the marker.
        store.clear_in_flight()
        if work:
            estimate.finish(store)


def _process_batches(
    store: Store,
    work: list[PhotoWork],
    channels: list[IndexedChannel],
    settings: Settings,
    report: IndexReport,
    progress: Progress,
    batch_size: int,
    strikes: dict[str, int],
    estimate: RunEstimate,
) -> None:
    jobs = decode_jobs(work, channels, settings)
    by_id = {item.photo_id: item for item in work}
    in_flight = InFlight(store, by_id, strikes)
    workers = decode_workers(settings, any(channel.uses_accelerator() for channel in channels))
    if workers == 0:  # decoding happens here too: mark each batch before it is decoded
        jobs = in_flight.ahead(jobs, batch_size)
    with DecodePool(workers, ahead=2 * batch_size) as pool:
        for number, batch in enumerate(_batches(pool.decode(jobs), batch_size), start=1):
            in_flight.mark([job.photo_id for job, _ in batch])
            seconds, photos = _commit_batch(store, batch, by_id, channels, report)
            progress.advance(len(batch))
            if estimate.record(seconds, photos, len(batch)) and estimate.done < estimate.total:
                progress.note(estimate.measured())
            estimate.publish(store)
            if number % _OPTIMIZE_EVERY == 0:
                store.optimize()


def runnable(work: list[PhotoWork], channels: Sequence[IndexedChannel]) -> list[PhotoWork]:
    """The photos with something to do now: new ones, and those pending for a loaded channel."""
    active = {channel.name for channel in channels}
    return [item for item in work if item.reads_photo or item.channels & active]


def commit_batch_size(settings: Settings, channels: Sequence[IndexedChannel]) -> int:
    """Photos per committed batch: the setting, or more when a channel batches larger."""
    return max([settings.batch_size, *(channel.batch_size() for channel in channels)])


def decode_jobs(
    work: Sequence[PhotoWork], channels: Sequence[IndexedChannel], settings: Settings
) -> Iterator[DecodeJob]:
    """What to decode for each photo: its pending channels' renditions, and a thumbnail if it is new."""
    renditions = {channel.name: channel.rendition() for channel in channels}
    for item in work:
        yield DecodeJob(
            item.source.path,
            item.photo_id,
            settings.max_image_pixels,
            {name: rendition for name, rendition in renditions.items() if name in item.channels},
            settings.thumbnail_size if item.reads_photo else 0,
            fingerprint=item.reads_photo,
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
) -> tuple[dict[str, float], dict[str, int]]:
    decoded = [result for _, result in batch if not isinstance(result, MediaError)]
    outputs: dict[str, dict[str, dict[str, Any] | PhotoFailure]] = {}
    seconds: dict[str, float] = {}
    for channel in channels:
        began = time.perf_counter()
        outputs[channel.name] = channel_outputs(channel, decoded, by_id)
        seconds[channel.name] = time.perf_counter() - began
    write_batch(store, batch, by_id, outputs, {channel.name: channel.version() for channel in channels}, report)
    return seconds, {name: len(found) for name, found in outputs.items()}
