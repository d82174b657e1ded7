"""Where a photo's kept metadata comes from, and reading it all: the photo's own fields, its XMP
sidecars (photo.xmp, photo.jpg.xmp: a sidecar wins, as in darktable and digiKam) and Google
Takeout's JSON. Sidecars are found in one listing per folder, so a run over an unchanged library
stats no file twice; a photo's `signature` changes when any of its sources does."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from shashin import storage
from shashin.media import is_supported, owns_stem_sidecar
from shashin.metadata.kept import Kept
from shashin.metadata.takeout import TakeoutNames, read_takeout
from shashin.metadata.xmp import read_file

READER_VERSION = "metadata 2"  # bump when reading changes: every photo is read again
_SIDECAR_SUFFIXES = (".xmp", ".json")


@dataclass(frozen=True)
class Sidecar:
    """A file beside a photo that describes it."""

    path: str
    size: int
    mtime_ns: int
    kind: str  # xmp, takeout


@dataclass(frozen=True)
class PhotoFile:
    """One file of a photo, as the library knows it."""

    path: str
    content: str  # content hash: embedded fields change with it


@dataclass
class Listing:
    """One folder as far as kept metadata cares: its sidecar-like files (name -> size, mtime_ns)
    and its photos' names by stem (to know when photo.xmp is shared by a.jpg and a.png)."""

    sidecars: dict[str, tuple[int, int]] = field(default_factory=dict)
    photos_by_stem: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Folders:
    """The sidecar-like files (.xmp, .json) and photo names of each folder, listed once per run."""

    listed: dict[str, Listing] = field(default_factory=dict)
    takeout: dict[str, TakeoutNames] = field(default_factory=dict)

    def listing(self, folder: str) -> Listing:
        """The folder's listing (empty when it cannot be listed)."""
        if folder not in self.listed:
            self.listed[folder] = _list(folder)
            self.takeout[folder] = TakeoutNames(self.listed[folder].sidecars)
        return self.listed[folder]

    def files(self, folder: str) -> dict[str, tuple[int, int]]:
        """name -> (size, mtime_ns) of the folder's .xmp and .json files ({} when it cannot be listed)."""
        return self.listing(folder).sidecars

    def sidecars(self, photo: str) -> list[Sidecar]:
        """The sidecars of the photo at `photo`, XMP first (photo.xmp, then photo.jpg.xmp: the later
        one wins), then Takeout's JSON. A photo.xmp that other photos share (a.jpg and a.png) is
        left out unless this photo owns it (see owns_stem_sidecar)."""
        folder, name = storage.parent(photo), storage.basename(photo)
        listing = self.listing(folder)
        present = listing.sidecars
        stem = _stem(name)
        owned = owns_stem_sidecar(name, listing.photos_by_stem.get(stem, [name]))
        candidates = ([f"{stem}.xmp", f"{stem}.XMP"] if owned else []) + [f"{name}.xmp", f"{name}.XMP"]
        found = []
        for candidate in dict.fromkeys(candidates):
            if candidate in present:
                size, mtime = present[candidate]
                found.append(Sidecar(storage.join(folder, candidate), size, mtime, "xmp"))
        takeout = self.takeout[folder].find(name)
        if takeout is not None:
            size, mtime = present[takeout]
            found.append(Sidecar(storage.join(folder, takeout), size, mtime, "takeout"))
        return found

    def shared_sidecar_note(self, photo: str) -> str | None:
        """What to tell about a photo.xmp beside `photo` that it shares with others and does not own."""
        folder, name = storage.parent(photo), storage.basename(photo)
        listing = self.listing(folder)
        stem = _stem(name)
        sharers = listing.photos_by_stem.get(stem, [name])
        present = [c for c in (f"{stem}.xmp", f"{stem}.XMP") if c in listing.sidecars]
        if not present or owns_stem_sidecar(name, sharers):
            return None
        return (
            f"sidecar {present[0]}: shared by {' and '.join(sorted(sharers))}, so it was read for neither; "
            f"rename it {name}.xmp to give it to this photo"
        )


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def stem_sharers(photo: str, folders: Folders | None = None) -> list[str]:
    """The photo files in `photo`'s folder with its stem (its own name included); the folder is
    listed now, or once for all its photos through `folders`."""
    folder, name = storage.parent(photo), storage.basename(photo)
    listing = folders.listing(folder) if folders is not None else _list(folder)
    return listing.photos_by_stem.get(_stem(name), [name])


def _list(folder: str) -> Listing:
    listing = Listing()

    def add(name: str, size: int, mtime: int) -> None:
        if name.lower().endswith(_SIDECAR_SUFFIXES):
            listing.sidecars[name] = (size, mtime)
        elif is_supported(name):
            listing.photos_by_stem.setdefault(_stem(name), []).append(name)

    if storage.is_remote(folder):
        try:
            for path, size, mtime in storage.list_files(folder):
                name = storage.relative(path, folder)
                if "/" not in name:
                    add(name, size, mtime)
        except OSError:
            pass
        return listing
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.lower().endswith(_SIDECAR_SUFFIXES):
                    if is_supported(entry.name) and entry.is_file():  # the directory entry's type: no stat
                        add(entry.name, 0, 0)
                    continue
                try:
                    info = entry.stat()
                except OSError:
                    continue
                add(entry.name, info.st_size, info.st_mtime_ns)
    except OSError:
        pass
    return listing


def signature(files: Sequence[PhotoFile], folders: Folders) -> str:
    """What a photo's kept metadata depends on: its files' contents and its sidecars' sizes and
    dates (and the reader's version). A different signature means read it again."""
    parts = [READER_VERSION]
    for file in sorted(files, key=lambda f: f.path):
        parts.append(f"{file.path}\0{file.content}")
        parts.extend(f"{s.path}\0{s.size}\0{s.mtime_ns}" for s in folders.sidecars(file.path))
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def read_photo(files: Sequence[PhotoFile], folders: Folders) -> Kept:
    """Everything a photo's files and their sidecars say, merged: per file, its XMP sidecars over
    its embedded fields over Takeout's JSON; across copies of one photo, the first path's fields
    win where both say something. A source that cannot be read is a note, never an exception."""
    merged = Kept()
    for file in sorted(files, key=lambda f: f.path):
        name = storage.basename(file.path)
        kept = _guarded(read_file, file.path, sidecar=False, origin=f"embedded in {name}")
        takeout = Kept()
        for sidecar in folders.sidecars(file.path):
            if sidecar.kind == "xmp":
                origin = f"sidecar {PurePosixPath(sidecar.path).name}"
                kept = _guarded(read_file, sidecar.path, sidecar=True, origin=origin).over(kept)
            else:
                takeout = _guarded(read_takeout, sidecar.path, name)
        kept = kept.over(takeout)
        shared = folders.shared_sidecar_note(file.path)
        if shared:
            kept = dataclasses.replace(kept, notes=(*kept.notes, shared))
        merged = merged.over(kept) if merged != Kept() else kept
    return merged


def _guarded(read: Callable[..., Kept], path: str, *args: Any, **options: Any) -> Kept:
    """read(path, *args, **options) of one source; whatever a reader raises on a hostile file
    costs that source, as a note, never the run."""
    try:
        return read(path, *args, **options)
    except Exception as exc:
        origin = storage.basename(path)
        return Kept(notes=(f"{origin}: cannot be read ({type(exc).__name__}: {str(exc)[:200]}); it was left out",))
