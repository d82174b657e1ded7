"""One photo's pending work in an index run: which file to decode and which channels still have to run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shashin.ingest.scan import FoundFile

if TYPE_CHECKING:
    pass


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
