"""Walk a folder and list its photo files, with a per-file error for anything that cannot be read."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field

from shashin import storage
from shashin.media import is_supported
from shashin.store import ErrorRow

# Folders that hold no photos of the user's own: NAS thumbnail caches, recycle bins, OS files.
_SKIPPED_DIRS = frozenset(
    {"@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information", "lost+found"}
)


@dataclass(frozen=True)
class FoundFile:
    """A readable regular file with a photo extension."""

    path: str
    root: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    """What a walk of one folder (or of some paths under it: `within`) found."""

    root: str
    files: list[FoundFile] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    within: tuple[str, ...] | None = None  # None: the whole folder was walked

    def covers(self, path: str) -> bool:
        """True when this scan looked where `path` is (so a known file it did not find is gone)."""
        if self.within is None:
            return True
        return any(storage.inside(path, place) for place in self.within)


def display_path(path: str) -> str:
    """A path that can be printed and stored even when its bytes are not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def scan_folder(root: str, *, skip: str | None = None) -> ScanResult:
    """Every photo file under `root` (hidden files and folders, and `skip`, left out), sorted by path."""
    result = ScanResult(root=root)
    if storage.is_remote(root):
        return _scan_objects(result, skip)
    _walk(root, root, result, skip)
    return result


def scan_paths(root: str, paths: Sequence[str], *, skip: str | None = None) -> ScanResult:
    """Only these paths under `root` (files, or folders walked whole), as a watcher saw them change:
    a path gone now is a file or folder deleted or moved away."""
    places = tuple(sorted({os.path.normpath(path) for path in paths}))
    result = ScanResult(root=root, within=places)
    for place in places:
        relative = os.path.relpath(place, root).split(os.sep)
        if any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative) or (skip and place == skip):
            continue
        if os.path.isdir(place) and not os.path.islink(place):
            _walk(place, root, result, skip)
        elif os.path.lexists(place) and is_supported(place):
            found = _inspect(place, root)
            if isinstance(found, ErrorRow):
                result.errors.append(found)
            else:
                result.files.append(found)
    result.files.sort(key=lambda found: found.path)
    return result


def _walk(top: str, root: str, result: ScanResult, skip: str | None) -> None:
    """Every photo file under `top` into `result` (hidden and skipped folders left out)."""

    def on_walk_error(exc: OSError) -> None:
        name = display_path(exc.filename or root)
        result.errors.append(ErrorRow(name, root, "scan", f"cannot list folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(top, onerror=on_walk_error):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in _SKIPPED_DIRS and os.path.join(dirpath, d) != skip
        )
        for name in sorted(filenames):
            if name.startswith(".") or not is_supported(name):
                continue
            path = os.path.join(dirpath, name)
            found = _inspect(path, root)
            if isinstance(found, ErrorRow):
                result.errors.append(found)
            else:
                result.files.append(found)


def _scan_objects(result: ScanResult, skip: str | None) -> ScanResult:
    """The same walk over an object-storage prefix (objects are always regular and readable)."""
    try:
        for path, size, mtime_ns in storage.list_files(result.root):
            parts = storage.relative(path, result.root).split("/")
            if any(part.startswith(".") for part in parts) or any(part in _SKIPPED_DIRS for part in parts[:-1]):
                continue
            if (skip and storage.inside(path, skip)) or not is_supported(parts[-1]):
                continue
            result.files.append(FoundFile(path, result.root, size, mtime_ns))
    except OSError as exc:
        result.errors.append(ErrorRow(result.root, result.root, "scan", f"cannot list: {exc}"))
    return result


def _inspect(path: str, root: str) -> FoundFile | ErrorRow:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return ErrorRow(
            display_path(path),
            root,
            "scan",
            "path is not valid UTF-8 (the file or a folder name was written in another encoding); rename it to index it",
        )
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return ErrorRow(
                path, root, "scan", f"broken symbolic link (points to {os.readlink(path)}, which does not exist)"
            )
        return ErrorRow(path, root, "scan", "file disappeared while scanning")
    except OSError as exc:
        return ErrorRow(path, root, "scan", f"cannot read file: {exc.strerror or exc}")
    if not stat.S_ISREG(info.st_mode):
        return ErrorRow(path, root, "scan", "not a regular file (a pipe, socket or device named like a photo)")
    if not os.access(path, os.R_OK):
        return ErrorRow(path, root, "scan", "cannot read file: permission denied", info.st_size, info.st_mtime_ns)
    return FoundFile(path, root, info.st_size, info.st_mtime_ns)
