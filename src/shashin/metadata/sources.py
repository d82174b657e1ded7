"""Where a photo's kept metadata comes from, and reading it all: the photo's own fields, its XMP
sidecars (photo.xmp, photo.jpg.xmp: a sidecar wins, as in darktable and digiKam) and Google
Takeout's JSON. Sidecars are found in one listing per folder, so a run over an unchanged library
stats no file twice; a photo's `signature` changes when any of its sources does."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from shashin import storage
from shashin.metadata.kept import Kept
from shashin.metadata.takeout import TakeoutNames, read_takeout
from shashin.metadata.xmp import read_file

READER_VERSION = "metadata 1"  # bump when reading changes: every photo is read again
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
class Folders:
    """The sidecar-like files (.xmp, .json) of each folder, listed once per run."""

    listed: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    takeout: dict[str, TakeoutNames] = field(default_factory=dict)

    def files(self, folder: str) -> dict[str, tuple[int, int]]:
        """name -> (size, mtime_ns) of the folder's .xmp and .json files ({} when it cannot be listed)."""
        if folder not in self.listed:
            self.listed[folder] = _list(folder)
            self.takeout[folder] = TakeoutNames(self.listed[folder])
        return self.listed[folder]

    def sidecars(self, photo: str) -> list[Sidecar]:
        """The sidecars of the photo at `photo`, XMP first (photo.xmp, then photo.jpg.xmp: the later
        one wins), then Takeout's JSON."""
        folder, name = storage.parent(photo), storage.basename(photo)
        present = self.files(folder)
        stem = name.rsplit(".", 1)[0] if "." in name else name
        found = []
        for candidate in (f"{stem}.xmp", f"{stem}.XMP", f"{name}.xmp", f"{name}.XMP"):
            if candidate in present:
                size, mtime = present[candidate]
                found.append(Sidecar(storage.join(folder, candidate), size, mtime, "xmp"))
        takeout = self.takeout[folder].find(name)
        if takeout is not None:
            size, mtime = present[takeout]
            found.append(Sidecar(storage.join(folder, takeout), size, mtime, "takeout"))
        return found


def _list(folder: str) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    if storage.is_remote(folder):
        try:
            for path, size, mtime in storage.list_files(folder):
                name = storage.relative(path, folder)
                if "/" not in name and name.lower().endswith(_SIDECAR_SUFFIXES):
                    found[name] = (size, mtime)
        except OSError:
            pass
        return found
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.lower().endswith(_SIDECAR_SUFFIXES):
                    try:
                        info = entry.stat()
                    except OSError:
                        continue
                    found[entry.name] = (info.st_size, info.st_mtime_ns)
    except OSError:
        pass
    return found


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
    win where both say something."""
    merged = Kept()
    for file in sorted(files, key=lambda f: f.path):
        name = storage.basename(file.path)
        kept = read_file(file.path, sidecar=False, origin=f"embedded in {name}")
        takeout = Kept()
        for sidecar in folders.sidecars(file.path):
            if sidecar.kind == "xmp":
                kept = read_file(sidecar.path, sidecar=True, origin=f"sidecar {PurePosixPath(sidecar.path).name}").over(
                    kept
                )
            else:
                takeout = read_takeout(sidecar.path, name)
        kept = kept.over(takeout)
        merged = merged.over(kept) if merged != Kept() else kept
    return merged
