"""What an index run reports: photos new, changed, moved and removed, each channel's work, errors and speed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shashin.store import ErrorRow

if TYPE_CHECKING:
    pass


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
