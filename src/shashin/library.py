"""The Python API: a Library is one index (--db folder) of one or more photo folders.

The CLI and the web interface are thin layers over these methods.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shashin.channels import build_channels, indexed_channels
from shashin.config import Settings, load_settings
from shashin.ingest.pipeline import IndexReport, index_folders
from shashin.progress import Progress
from shashin.search.engine import SearchResponse, search_photos
from shashin.store import ErrorRow, Store


class LibraryError(ValueError):
    """A request the library cannot carry out (a missing folder, no folders yet)."""


@dataclass(frozen=True)
class ChannelStatus:
    """How far one channel's work has come."""

    name: str
    description: str
    version: str
    done: int
    failed: int
    pending: int
    unavailable: str | None = None


@dataclass(frozen=True)
class PhotoFailureInfo:
    """A photo one channel could not process."""

    channel: str
    path: str
    reason: str


@dataclass(frozen=True)
class LibraryStatus:
    """Counts, per-channel progress and every recorded error."""

    db: str
    folders: list[str]
    photos: int
    files: int
    channels: list[ChannelStatus] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    failures: list[PhotoFailureInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "folders": self.folders,
            "photos": self.photos,
            "files": self.files,
            "channels": {
                c.name: {
                    "description": c.description,
                    "version": c.version,
                    "done": c.done,
                    "failed": c.failed,
                    "pending": c.pending,
                    "unavailable": c.unavailable,
                }
                for c in self.channels
            },
            "errors": [{"path": e.path, "stage": e.stage, "message": e.message} for e in self.errors],
            "failures": [{"path": f.path, "channel": f.channel, "reason": f.reason} for f in self.failures],
        }


class Library:
    """One photo library: `index()` folders into it, then `search()` it."""

    def __init__(self, db: str | Path | None = None, *, settings: Settings | None = None) -> None:
        if settings is None:
            settings = load_settings({"db": str(db) if db is not None else None})
        elif db is not None:
            settings = dataclasses.replace(settings, db=str(db))
        self.settings = settings
        self.path = self.settings.db_path
        self.channels = build_channels(self.settings)
        self._store: Store | None = None

    def _open(self, create: bool) -> Store:
        if self._store is None:
            self._store = Store(self.path, create=create)
        return self._store

    def index(
        self,
        folders: Sequence[str | Path] = (),
        *,
        progress: Progress | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Add `folders` (or, when none are given, revisit all known ones) and bring the index up to date."""
        wanted = [_folder(folder) for folder in folders]
        store = self._open(create=True)
        with store.writer():
            known = store.folders()
            roots: list[str] = []
            for folder in wanted:
                parent = next((root for root in known if _inside(folder, root)), None)
                roots.append(parent or folder)
                if parent is None:
                    # A folder that contains known folders takes them over (their files move to it).
                    store.remove_folders([root for root in known if _inside(root, folder)])
                    store.add_folder(folder)
            if not wanted:
                roots = known
            if not roots:
                raise LibraryError("this library has no folders yet; give one: shashin index FOLDER")
            return index_folders(
                store,
                list(dict.fromkeys(roots)),
                indexed_channels(self.channels),
                self.settings,
                progress,
                retry_failed=retry_failed,
            )

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> SearchResponse:
        """Photos matching `query`, best first, each with the channels that found it and why."""
        if limit < 1 or offset < 0:
            raise LibraryError("limit must be at least 1 and offset at least 0")
        store = self._open(create=False)
        return search_photos(store, self.channels, query, self.settings.search, limit=limit, offset=offset)

    def status(self) -> LibraryStatus:
        """Photos, files, per-channel done/failed/pending and every recorded error."""
        store = self._open(create=False)
        photos = store.count_photos()
        channels: list[ChannelStatus] = []
        failures: list[PhotoFailureInfo] = []
        for channel in indexed_channels(self.channels):
            version = channel.version()
            done = store.count_channel(channel.name, version, "done")
            failed_rows = store.channel_failures(channel.name, version)
            unavailable = store.get_meta(f"channel.{channel.name}.unavailable") or None
            channels.append(
                ChannelStatus(
                    channel.name, channel.description, version, done, len(failed_rows),
                    max(0, photos - done - len(failed_rows)), unavailable,
                )
            )
            paths = store.file_rows_for([row["photo_id"] for row in failed_rows])
            for row in failed_rows:
                files = paths.get(row["photo_id"])
                failures.append(PhotoFailureInfo(channel.name, files[0].path if files else row["photo_id"], row["error"]))
        return LibraryStatus(
            db=str(store.root),
            folders=store.folders(),
            photos=photos,
            files=store.count_files(),
            channels=channels,
            errors=store.errors(),
            failures=failures,
        )

    def folders(self) -> list[str]:
        """The folders this library indexes."""
        return self._open(create=False).folders()


def _folder(folder: str | Path) -> str:
    path = Path(os.path.expanduser(str(folder))).absolute()
    if not path.exists():
        raise LibraryError(f"{path}: no such folder")
    if not path.is_dir():
        raise LibraryError(f"{path}: not a folder (give the folder that holds the photos)")
    return os.path.normpath(str(path.resolve()))


def _inside(folder: str, root: str) -> bool:
    return folder == root or folder.startswith(root.rstrip(os.sep) + os.sep)
