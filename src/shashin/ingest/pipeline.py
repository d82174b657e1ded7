"""An index run: scan folders, hash what changed, decode what is new, run pending channel work, commit.

Write order makes any interrupted run resumable: per batch, thumbnails, then photo rows, then
file rows, then each channel's rows. A photo without a file row is found again by its hash; a
file row without channel rows leaves that channel pending; nothing is done twice on rerun.

A photo is more than its bytes: a file whose metadata another app edited (same pixels, see
shashin.fingerprint) keeps its photo, a file that cannot be read this time keeps it too, and what
a person wrote about a photo that does leave the library is kept as an orphan (ingest.orphans).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shashin import storage
from shashin.channels.base import DerivedChannel, IndexedChannel, ModelUnavailable, PhotoFailure
from shashin.channels.filename import file_terms
from shashin.config import Settings
from shashin.fingerprint import FingerprintError, pixel_fingerprint
from shashin.ingest.decode import DecodeJob, DecodePool
from shashin.ingest.orphans import reattach_returning
from shashin.ingest.scan import FoundFile, ScanResult, scan_folder, scan_paths
from shashin.media import DecodedPhoto, MediaError, NotAPhoto, UnreadableFile, hash_file
from shashin.progress import Progress, SilentProgress
from shashin.raw import TWIN_SUFFIXES, is_raw
from shashin.store import ErrorRow, FileRow, Store

if TYPE_CHECKING:
    from shashin.ingest.runner import Runner

_HASH_THREADS = 4  # hashing is I/O bound and releases the GIL
_OPTIMIZE_EVERY = 200  # batches between compactions during long runs
# Errors that stand until their file changes; others ("scan", "read": permissions, a sync tool, a
# drive going away) are tried again on every run.
_STANDING_ERRORS = frozenset({"decode", "crash"})


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
    raw_twins: int = 0  # RAW files joined to the photo of their camera JPEG (IMG_1.CR3 beside IMG_1.JPG)
    same_pixels: int = 0  # changed files whose pixels did not change (metadata edited elsewhere): photo kept
    removed_files: int = 0
    removed_photos: int = 0
    unreadable_files: int = 0  # known files that could not be read this time: their photos are kept
    refreshed_photos: int = 0  # known photos whose metadata and thumbnail were read again
    reattached: int = 0  # photos that came back and got what a person wrote for them back
    orphans: int = 0  # photos no longer in the library whose captions by a person are kept
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

    def to_dict(self) -> dict[str, Any]:
        """The run as one JSON document (`shashin index --json`)."""
        return {
            "folders": self.folders,
            "missing_folders": self.missing_folders,
            "files_found": self.files_found,
            "unchanged_files": self.unchanged_files,
            "new_photos": self.new_photos,
            "changed_files": self.changed_files,
            "moved_files": self.moved_files,
            "same_pixels": self.same_pixels,
            "removed_files": self.removed_files,
            "removed_photos": self.removed_photos,
            "unreadable_files": self.unreadable_files,
            "refreshed_photos": self.refreshed_photos,
            "reattached": self.reattached,
            "orphans": self.orphans,
            "photos_processed": self.photos_processed,
            "photos_per_second": round(self.photos_per_second, 3),
            "seconds": round(self.seconds, 3),
            "channels": {
                name: {
                    "processed": c.processed,
                    "failed": c.failed,
                    "pending": c.pending,
                    "refreshed": c.refreshed,
                    "unavailable": c.unavailable,
                }
                for name, c in self.channels.items()
            },
            "errors": [{"path": e.path, "stage": e.stage, "message": e.message} for e in self.errors],
        }


@dataclass
class PhotoWork:
    """One photo to decode: new (needs metadata, thumbnail) and/or with pending channels, or a
    known photo whose metadata and thumbnail are read again (`refresh`: its file's metadata was
    edited, or its pixel fingerprint is not known yet)."""

    photo_id: str
    source: FoundFile  # the file that is decoded
    new_files: list[FoundFile]  # file rows to write with the photo (new content only)
    channels: set[str]
    refresh: bool = False
    source_hash: str = ""  # content hash of `source`

    @property
    def reads_photo(self) -> bool:
        """Its photo row (metadata, thumbnail, fingerprint) is written from this decode."""
        return bool(self.new_files) or self.refresh


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
    suspects = _after_a_crash(store, retry_failed, progress)

    scans = _scan(store, roots, report, progress, within)
    known = store.files()
    known_errors = {error.path: error for error in store.errors()}
    existing_photos = store.photo_ids()

    to_hash, rerooted = _classify(scans, known, known_errors, report)
    hashed = _hash(to_hash, report, progress) | rerooted
    owners = {row.content: row.photo_id for row in known.values()} | {pid: pid for pid in existing_photos}
    twins = raw_twins(hashed, known, owners)
    owners |= twins
    new_content, replaced = _record_known_content(store, hashed, known, owners, report, set(twins))
    gone = _forget_missing(store, scans, known, known_errors, report)
    _carry_same_pixels(store, new_content, settings, report, progress)
    last_paths: dict[str, list[str]] = {}
    for row in replaced + gone:
        last_paths.setdefault(row.photo_id, []).append(row.path)
    _remove_orphan_photos(store, report, last_paths)

    work = _plan(store, new_content, channels, report, retry_failed, known_errors)
    active = _load_channels(store, channels, work, report, progress)
    work_started = time.monotonic()
    if runner is not None:
        runner.index(store, work, active, settings, report, progress)
    else:
        _process(store, work, active, settings, report, progress, suspects)
    report.work_seconds = time.monotonic() - work_started
    _refresh(store, [*derived, *channels], report, progress)  # kept metadata first: faces take names from it

    _remove_orphan_photos(store, report, {})
    progress.phase("optimizing", 0)
    store.optimize()
    scanned = {scan.root for scan in scans}
    report.errors = [error for error in store.errors() if error.root in scanned]
    report.seconds = time.monotonic() - started
    return report


def _scan(
    store: Store, roots: Sequence[str], report: IndexReport, progress: Progress, within: Sequence[str] | None = None
) -> list[ScanResult]:
    scans: list[ScanResult] = []
    progress.phase("scanning", len(roots))
    for root in roots:
        if not storage.is_folder(root):
            # An unmounted drive must not look like a folder whose photos were all deleted.
            report.missing_folders.append(root)
            progress.note(f"folder {root} is missing; its photos are kept until it is back")
        elif within is not None:
            places = [path for path in within if storage.inside(path, root)]
            if places:
                scans.append(scan_paths(root, places, skip=str(store.root)))
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
                    rerooted[found.path] = (found, row.content)  # now under a folder that contains its old one
                continue
            error = known_errors.get(found.path)
            if (
                error is not None
                and error.stage in _STANDING_ERRORS
                and (error.size, error.mtime_ns) == (found.size, found.mtime_ns)
            ):
                continue  # failed before and has not changed since: its error stands
            to_hash.append(found)
    return to_hash, rerooted


def _hash(files: list[FoundFile], report: IndexReport, progress: Progress) -> dict[str, tuple[FoundFile, str]]:
    """path -> (file, content hash) for the files that could be read; the others become errors:
    "decode" for content that is no photo (it stands until the file changes), "read" for a file that
    could not be read this time (tried again next run; a known one keeps its photo)."""
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
                stage = "decode" if isinstance(result, NotAPhoto) else "read"
                report.errors.append(ErrorRow(found.path, found.root, stage, str(result), found.size, found.mtime_ns))
            else:
                hashed[found.path] = (found, result)
            progress.advance()
    return hashed


def _record_known_content(
    store: Store,
    hashed: dict[str, tuple[FoundFile, str]],
    known: dict[str, FileRow],
    owners: dict[str, str],
    report: IndexReport,
    twins: set[str],
) -> tuple[dict[str, list[FoundFile]], list[FileRow]]:
    """Write file rows for content the library has (moves, copies, touched files, RAW files of a
    camera's JPEG: `twins`); return the new content, and the known files that now hold other content."""
    new_content: dict[str, list[FoundFile]] = {}
    known_content: list[tuple[FoundFile, str, str]] = []
    replaced: list[FileRow] = []
    for path, (found, content) in hashed.items():
        previous = known.get(path)
        owner = owners.get(content)
        if previous is not None and previous.content != content and previous.photo_id != owner:
            report.changed_files += 1
            replaced.append(previous)  # the path no longer holds its old photo
        if owner is not None:
            known_content.append((found, owner, content))
            if content in twins:
                report.raw_twins += 1
            elif previous is None:
                report.moved_files += 1
            elif previous.photo_id == owner:
                report.unchanged_files += 1  # touched: same bytes, new timestamp
        else:
            new_content.setdefault(content, []).append(found)
    store.delete_files([row.path for row in replaced])
    if known_content:
        photos = store.get_photos({photo_id for _, photo_id, _ in known_content})
        store.put_files(
            [_file_row(found, photo_id, photos.get(photo_id), content) for found, photo_id, content in known_content]
        )
        store.delete_errors([found.path for found, _, _ in known_content])
    return new_content, replaced


def raw_twins(
    hashed: dict[str, tuple[FoundFile, str]], known: dict[str, FileRow], owners: dict[str, str]
) -> dict[str, str]:
    """New RAW content whose camera JPEG (same folder, same name) is in the library or arriving
    with it: that JPEG's photo, by RAW content. A RAW file seen alone before stays its own photo."""
    rendered: dict[str, str] = {}  # folder/stem, lower case → the photo of the JPEG there
    for path, row in known.items():
        if path.lower().endswith(TWIN_SUFFIXES):
            rendered[_stem(path)] = row.photo_id
    for path, (_, content) in hashed.items():
        if path.lower().endswith(TWIN_SUFFIXES):
            rendered[_stem(path)] = owners.get(content, content)
    twins: dict[str, str] = {}
    for path, (_, content) in hashed.items():
        if is_raw(path) and content not in owners and _stem(path) in rendered:
            twins[content] = rendered[_stem(path)]
    return twins


def _stem(path: str) -> str:
    return os.path.splitext(path)[0].lower()


def _forget_missing(
    store: Store,
    scans: list[ScanResult],
    known: dict[str, FileRow],
    known_errors: dict[str, ErrorRow],
    report: IndexReport,
) -> list[FileRow]:
    """Drop files that are gone from scanned folders, and refresh their scan errors; return the
    rows dropped. A known file that is there but cannot be read this time is not gone: it keeps
    its photo, and its error says why."""
    present: set[str] = set()
    scan_errors: list[ErrorRow] = []
    for scan in scans:
        present.update(found.path for found in scan.files)
        scan_errors.extend(scan.errors)
    scanned = {scan.root: scan for scan in scans}

    def looked_at(path: str, root: str) -> bool:
        return root in scanned and scanned[root].covers(path)

    seen = present | {error.path for error in scan_errors}
    gone = [row for path, row in known.items() if looked_at(path, row.root) and path not in seen]
    if gone:
        store.delete_files([row.path for row in gone])
        report.removed_files += len(gone)
    # Scan and read errors are found afresh each run; decode errors stand until their file changes or goes.
    transient = {error.path for error in scan_errors + report.errors if error.stage in ("scan", "read")}
    stale = [
        path
        for path, error in known_errors.items()
        if looked_at(path, error.root)
        and (path not in transient if error.stage in ("scan", "read") else path not in present)
    ]
    report.unreadable_files += sum(1 for path in transient if path in known)
    store.delete_errors(stale)
    store.put_errors(scan_errors + report.errors)
    return gone


def _carry_same_pixels(
    store: Store, new_content: dict[str, list[FoundFile]], settings: Settings, report: IndexReport, progress: Progress
) -> None:
    """New content that is a photo about to leave the library with other metadata (a rating, a
    keyword or alt text written into the file by another app) keeps that photo: its id, outputs and
    a person's words. Its file rows are written now; the next decode reads its new metadata."""
    if not new_content:
        return
    leaving = store.photos_without_files()
    if not leaving:
        return
    hashes = store.photo_hashes()
    by_pixels = {hashes[pid][0]: pid for pid in leaving if hashes.get(pid, (None, None))[0]}
    if not by_pixels:
        return
    progress.phase("comparing pixels", len(new_content))

    def fingerprint(content: str) -> tuple[str, str | None]:
        try:
            return content, pixel_fingerprint(new_content[content][0].path, settings.max_image_pixels)
        except (FingerprintError, OSError):
            return content, None  # decoding will say what is wrong with it

    carried: dict[str, str] = {}
    with ThreadPoolExecutor(_HASH_THREADS) as threads:
        for content, pixels in threads.map(fingerprint, list(new_content)):
            photo_id = by_pixels.pop(pixels, None) if pixels else None
            if photo_id is not None:
                carried[content] = photo_id
            progress.advance()
    if not carried:
        return
    photos = store.get_photos(set(carried.values()))
    rows = [
        _file_row(found, photo_id, photos.get(photo_id), content)
        for content, photo_id in carried.items()
        for found in new_content.pop(content)
    ]
    store.put_files(rows)
    store.delete_errors([row.path for row in rows])
    report.same_pixels += len(carried)


def _remove_orphan_photos(store: Store, report: IndexReport, last_paths: dict[str, list[str]]) -> None:
    """Photos no file holds leave the library; what a person wrote about them stays, as orphans."""
    before = len(store.orphans())
    report.removed_photos += len(store.delete_orphan_photos(last_paths))
    report.orphans += len(store.orphans()) - before


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
        and error.stage in _STANDING_ERRORS
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


CRASH_STRIKES = 2  # runs that must die with a photo alone in flight before it is taken for the cause


def _after_a_crash(store: Store, retry_failed: bool, progress: Progress) -> dict[str, int]:
    """What the last run was working on when its process died (killed for memory, a crash in a
    model — or by a person: kill -9 of `watch` looks the same): photo id -> how many runs died with
    it alone in flight. Those photos are worked on one at a time this run, so that another death
    names one; a photo alone in flight at CRASH_STRIKES deaths is recorded as the cause and skipped
    until it changes (or --retry-failed). One death never condemns a photo: a person's kill lands
    on whatever photo happens to be in flight, a crashing photo crashes every time."""
    if retry_failed:
        store.delete_errors([error.path for error in store.errors() if error.stage == "crash"])
    entries = store.in_flight()
    if len(entries) != 1:
        return {entry["photo_id"]: _strikes(entry) for entry in entries}
    entry = entries[0]
    strikes = _strikes(entry) + 1
    if strikes < CRASH_STRIKES:
        return {entry["photo_id"]: strikes}
    message = (
        f"index runs died {strikes} times while working on this photo alone (out of memory, or a crash in a "
        "model); it is skipped until the file changes — `shashin index --retry-failed` tries it again"
    )
    store.put_errors(
        [ErrorRow(f["path"], f["root"], "crash", message, f["size"], f["mtime_ns"]) for f in entry.get("files", [])]
    )
    store.clear_in_flight()
    progress.note(f"{entry.get('files', [{}])[0].get('path', entry['photo_id'])}: {message}")
    return {}


def _strikes(entry: dict[str, Any]) -> int:
    value = entry.get("strikes", 0)
    return value if isinstance(value, int) and value >= 0 else 0


class _InFlight:
    """Keeps the library's in-flight marker (Store.mark_in_flight) naming the photos being worked
    on, with each suspect's strikes so far (see _after_a_crash)."""

    def __init__(self, store: Store, by_id: dict[str, PhotoWork], strikes: dict[str, int]) -> None:
        self.store, self.by_id, self.strikes = store, by_id, strikes
        self._marked: tuple[str, ...] = ()

    def mark(self, photo_ids: Sequence[str]) -> None:
        if tuple(photo_ids) == self._marked:
            return
        self._marked = tuple(photo_ids)
        self.store.mark_in_flight(
            [
                {
                    "photo_id": pid,
                    "files": [
                        dataclasses.asdict(found) for found in self.by_id[pid].new_files or [self.by_id[pid].source]
                    ],
                    "strikes": self.strikes.get(pid, 0),
                }
                for pid in photo_ids
            ]
        )

    def ahead(self, jobs: Iterator[DecodeJob], size: int) -> Iterator[DecodeJob]:
        """`jobs`, marking each batch before its first photo is decoded (decoding in this process)."""
        batch: list[DecodeJob] = []
        for job in jobs:
            batch.append(job)
            if len(batch) >= size:
                self.mark([j.photo_id for j in batch])
                yield from batch
                batch = []
        if batch:
            self.mark([j.photo_id for j in batch])
            yield from batch


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
    progress.phase("indexing photos", len(work))
    batch_size = commit_batch_size(settings, channels)
    first = [item for item in work if item.photo_id in suspects]  # one at a time: a crash names its photo
    rest = [item for item in work if item.photo_id not in suspects]
    try:
        for items, size in ((first, 1), (rest, batch_size)):
            if items:
                _process_batches(store, items, channels, settings, report, progress, size, suspects)
    finally:
        # A Python error or Ctrl-C is no photo's fault: only a process that dies leaves the marker.
        store.clear_in_flight()


def _process_batches(
    store: Store,
    work: list[PhotoWork],
    channels: list[IndexedChannel],
    settings: Settings,
    report: IndexReport,
    progress: Progress,
    batch_size: int,
    strikes: dict[str, int],
) -> None:
    jobs = decode_jobs(work, channels, settings)
    by_id = {item.photo_id: item for item in work}
    in_flight = _InFlight(store, by_id, strikes)
    workers = decode_workers(settings, any(channel.uses_accelerator() for channel in channels))
    if workers == 0:  # decoding happens here too: mark each batch before it is decoded
        jobs = in_flight.ahead(jobs, batch_size)
    with DecodePool(workers, ahead=2 * batch_size) as pool:
        for number, batch in enumerate(_batches(pool.decode(jobs), batch_size), start=1):
            in_flight.mark([job.photo_id for job, _ in batch])
            _commit_batch(store, batch, by_id, channels, report)
            progress.advance(len(batch))
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
            store.put_files([_file_row(found, photo_id, rows[photo_id], photo_id) for found, photo_id in files])
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


def _file_row(found: FoundFile, photo_id: str, photo: dict[str, Any] | None, content: str) -> FileRow:
    return FileRow(
        found.path, photo_id, found.root, found.size, found.mtime_ns, file_terms(found.path, found.root, photo), content
    )
