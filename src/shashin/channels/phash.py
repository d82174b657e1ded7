"""Perceptual-hash channel: a 64-bit fingerprint per photo that confirms near-duplicates."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from shashin.channels.base import IndexedChannel, ModelUnavailable
from shashin.media import DecodedPhoto
from shashin.models.perceptual_hash import PerceptualHash, hash_identity


class PerceptualHashChannel(IndexedChannel):
    """pHash of every photo (no search side: `shashin duplicates` reads it)."""

    name: ClassVar[str] = "phash"
    description: ClassVar[str] = "perceptual hash, for near-duplicates"
    hash_size: ClassVar[int] = 8

    def version(self) -> str:
        try:
            return hash_identity(self.hash_size)
        except ModelUnavailable:
            return "imagehash (not installed)"

    def load(self) -> None:
        hash_identity(self.hash_size)  # raises ModelUnavailable when imagehash is missing

    def rendition(self) -> PerceptualHash:
        return PerceptualHash(self.hash_size)

    def payload_fields(self) -> list[pa.Field]:
        return [pa.field("phash", pa.string())]

    def process(self, photo: DecodedPhoto, rendition: str) -> dict[str, Any]:
        return {"phash": rendition}
