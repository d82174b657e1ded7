"""Perceptual hashes with imagehash: 64-bit DCT hashes that survive resizing and recompression."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from shashin.models.base import ModelUnavailable


@dataclass(frozen=True)
class PerceptualHash:
    """A rendition: the photo's pHash as hex (imagehash.phash, `hash_size`² bits)."""

    hash_size: int = 8

    @property
    def draft_side(self) -> int:
        return 256  # the hash looks at a 32×32 thumbnail; decoding larger is wasted work

    def render(self, image: Image.Image) -> str:
        import imagehash

        return str(imagehash.phash(image, hash_size=self.hash_size))


def hash_identity(hash_size: int) -> str:
    """What determines the hash: the library version and the hash size."""
    try:
        from importlib.metadata import version

        return f"imagehash {version('ImageHash')} phash {hash_size}x{hash_size}"
    except Exception as exc:
        raise ModelUnavailable(f"imagehash is not installed ({exc}); pip install imagehash") from exc
