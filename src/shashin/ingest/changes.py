"""What changed on disk since the last run: folders scanned, files hashed when their size or time changed,
content already known recorded under its photo, RAW+JPEG twins, files gone, photos whose pixels
stayed the same while another app edited their metadata, and photos that left the library."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from shashin import storage
from shashin.config import Settings
from shashin.fingerprint import FingerprintError, pixel_fingerprint
from shashin.ingest.scan import FoundFile, ScanResult, scan_folder, scan_paths
from shashin.media import MediaError, NotAPhoto, hash_file
from shashin.progress import Progress
from shashin.raw import TWIN_SUFFIXES, is_raw
from shashin.store import ErrorRow, FileRow, Store

if TYPE_CHECKING:
    pass
from shashin.ingest.commit import file_row
from shashin.ingest.reports import IndexReport

_HASH_THREADS = 4  # hashing is I/O bound and releases the GIL


# Errors that stand until their file changes; others ("scan", "read": permissions, a sync tool, a
# drive going away) are tried again on every run.
STANDING_ERRORS = frozenset({"decode", "crash"})


def scan_roots(
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


def classify(
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
                and error.stage in STANDING_ERRORS
                and (error.size, error.mtime_ns) == (found.size, found.mtime_ns)
            ):
                continue  # failed before and has not changed since: its error stands
            to_hash.append(found)
    return to_hash, rerooted


def hash_files(files: list[FoundFile], report: IndexReport, progress: Progress) -> dict[str, tuple[FoundFile, str]]:
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


def record_known_content(
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
            [file_row(found, photo_id, photos.get(photo_id), content) for found, photo_id, content in known_content]
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


def forget_missing(
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


def carry_same_pixels(
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
        file_row(found, photo_id, photos.get(photo_id), content)
        for content, photo_id in carried.items()
        for found in new_content.pop(content)
    ]
    store.put_files(rows)
    store.delete_errors([row.path for row in rows])
    report.same_pixels += len(carried)


def remove_orphan_photos(store: Store, report: IndexReport, last_paths: dict[str, list[str]]) -> None:
    """Photos no file holds leave the library; what a person wrote about them stays, as orphans."""
    before = len(store.orphans())
    report.removed_photos += len(store.delete_orphan_photos(last_paths))
    report.orphans += len(store.orphans()) - before
