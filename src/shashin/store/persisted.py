"""What search reads, kept beside the tables: built once per table version, opened memory-mapped.

Building the keyword and vector structures of a large library takes seconds to minutes of CPU
(k-means of the inverted file, BM25 weights); every process used to pay it again, and hold its
own copy. Now the first process to need a structure for a table version writes it under
`<library>/search/<table>/<key digest>/v<version>/` as .npy arrays and Arrow IPC files; every
later process (a CLI search, a restarted server) opens those files memory-mapped in milliseconds,
and processes on one machine share their pages through the OS cache.

A version folder is written under a temporary name and renamed whole, so a crash while writing
leaves the previous version usable and never a half-written one; a reader that finds nothing (or
something it cannot read) builds as before. Older versions are removed once a newer one is in
place; a process still mapping one keeps reading it (the files live on until unmapped).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa

FORMAT = 2  # bumped when a structure's arrays change meaning: older folders are ignored
_STALE_PARTS = 3600.0  # seconds after which a temporary folder is a crashed writer's

T = TypeVar("T")


@dataclass(frozen=True)
class Persist(Generic[T]):
    """How one kind of structure becomes arrays and comes back from them."""

    arrays: Callable[[T], Mapping[str, Any] | None]  # None: this one is not stored
    opened: Callable[[Mapping[str, Any]], T]
    # The structure for a newer version from an older one, the keys changed since, and a build of
    # just those rows (store/segments.py); None from it: rebuild.
    update: Callable[[T, dict[str, set[str]], Callable[..., Any]], T | None] | None = None


class SearchCache:
    """The search structures of one local library, by table, key and table version."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, table: str, key: tuple[Any, ...]) -> Path:
        digest = hashlib.sha256(repr((FORMAT, key)).encode()).hexdigest()[:24]
        return self.root / table / digest

    def open(self, table: str, key: tuple[Any, ...], version: int) -> dict[str, Any] | None:
        """The arrays saved for this table version (memory-mapped), or None when there are none
        or they cannot be read."""
        folder = self.folder(table, key) / f"v{version}"
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            arrays = {name: _read(folder, name, kind) for name, kind in manifest["arrays"].items()}
            arrays["__folder__"] = str(folder)  # for a structure that reads rows of its files itself
        except (OSError, ValueError, KeyError, pa.ArrowException):
            return None
        main = manifest.get("main")
        if main is not None:  # a segment: the delta here, the main part in its own version's folder
            if not isinstance(main, int) or main >= version:
                return None
            main_arrays = self.open(table, key, main)
            if main_arrays is None or "__main__" in main_arrays:
                return None
            arrays |= {f"main.{name}": value for name, value in main_arrays.items()}
            arrays["__main__"] = main
        return arrays

    def latest(self, table: str, key: tuple[Any, ...], below: int) -> tuple[int, dict[str, Any]] | None:
        """The newest saved version older than `below`, and its arrays: the main part that a
        change log can bring up to date."""
        try:
            versions = sorted(
                (int(entry.name[1:]) for entry in self.folder(table, key).iterdir() if entry.name[1:].isdigit()),
                reverse=True,
            )
        except OSError:
            return None
        for version in (v for v in versions if v < below):
            arrays = self.open(table, key, version)
            if arrays is not None:
                return version, arrays
        return None

    def save(self, table: str, key: tuple[Any, ...], version: int, arrays: Mapping[str, Any]) -> bool:
        """Write the arrays for this version, whole or not at all; False when they could not be
        written (a read-only library, a full disk, a kind of array that is not storable)."""
        parent = self.folder(table, key)
        final = parent / f"v{version}"
        if final.is_dir():
            return True  # another process wrote it first
        main = arrays.get("__main__")  # a segment: its main part stays where it is
        keep = {final.name} | ({f"v{main}"} if main is not None else set())
        if main is not None and not (parent / f"v{main}").is_dir():
            return False
        partial = parent / f".v{version}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            partial.mkdir(parents=True)
            kinds = {name: _write(partial, name, value) for name, value in arrays.items() if name != "__main__"}
            manifest = {"arrays": kinds, "key": repr(key)} | ({"main": int(main)} if main is not None else {})
            _write_synced(partial / "manifest.json", json.dumps(manifest).encode())
            _sync(partial)
            os.rename(partial, final)
            _sync(parent)
        except (OSError, ValueError, TypeError, pa.ArrowException):
            shutil.rmtree(partial, ignore_errors=True)
            return final.is_dir()
        self._clean(parent, keep)
        return True

    def _clean(self, parent: Path, keep: set[str]) -> None:
        """Remove older versions (but the main part a segment refers to) and temporary folders
        crashed writers left."""
        now = time.time()
        for entry in parent.iterdir():
            if entry.name in keep:
                continue
            if entry.name.endswith(".part"):
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime < _STALE_PARTS:
                        continue  # another process is writing it now
            shutil.rmtree(entry, ignore_errors=True)


def _write(folder: Path, name: str, value: Any) -> str:
    if isinstance(value, pa.Table):
        with pa.OSFile(str(folder / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, value.schema) as writer:
            writer.write_table(value)
        _sync(folder / f"{name}.arrow", uncache=value.nbytes > UNCACHED_ABOVE)
        return "arrow"
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise TypeError(f"{name}: object arrays are not stored")
    with open(folder / f"{name}.npy", "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
        if name not in SCANNED and array.nbytes > UNCACHED_ABOVE:
            _uncache(handle.fileno())
    return "npy"


UNCACHED_ABOVE = 16 << 20  # bytes: a larger array read at random leaves the OS cache once written


def _uncache(descriptor: int) -> None:
    """Drop a written file's pages from the OS cache (they are on disk): written in one go, they
    sit there in large blocks that any later mapping maps whole (see _random). Only large files:
    the next process reads them from disk again, page by page."""
    with contextlib.suppress(AttributeError, OSError):
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)


# Arrays read block by block: an inverted file's centroids, lists and codes, a vector matrix
# (scanned whole below the inverted file's size; above it, its candidates are read into a buffer:
# quantized.RowFile), keyword postings. Every other one is read a row here and there (keys by
# binary search, rows of a page, positions of candidates), and is mapped for random reads (_random).
SCANNED = frozenset({"codes", "matrix", "centroids", "offsets", "indices", "data"})


def _read(folder: Path, name: str, kind: str) -> Any:
    if kind == "arrow":
        with open(folder / f"{name}.arrow", "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        _random(mapped)
        return pa.ipc.open_file(pa.py_buffer(mapped)).read_all()
    path = folder / f"{name}.npy"
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:  # an empty array cannot be mapped
        return np.load(path, allow_pickle=False)
    if name not in SCANNED:
        _random(array._mmap)  # (np.memmap keeps its mmap there)
    # Still mapped, but a plain ndarray: np.memmap's Python-level indexing cost 2 µs a row.
    return array.view(np.ndarray)


def _random(mapped: mmap.mmap) -> None:
    """Tell the kernel this mapping is read at random: no read-ahead, so a row read brings one
    page into the process, not the 64 KB to 2 MB around it (1 MB a touch measured on a file read
    in sequence: 100 searches of a million photos mapped 2.4 GB of keys and rows they never read)."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        mapped.madvise(mmap.MADV_RANDOM)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync(path: Path, *, uncache: bool = False) -> None:
    """fsync a file or folder (a rename is durable once its folder is synced); `uncache`: then
    drop its pages from the OS cache (see _uncache)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        if uncache:
            _uncache(descriptor)
    finally:
        os.close(descriptor)


__all__ = ["FORMAT", "Persist", "SearchCache"]
