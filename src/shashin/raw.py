"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF) through rawpy (LibRaw): the
camera's embedded preview when it is large enough for what is asked, a full demosaic otherwise;
EXIF read with exiv2 (pyexiv2), which knows every one of these containers; the sensor data named
for the photo's pixel fingerprint, so edited metadata keeps the photo."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from PIL import Image

RAW_SUFFIXES = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef"})
# Rendered siblings a camera writes beside a RAW (IMG_0001.CR3 + IMG_0001.JPG): one photo, two files.
TWIN_SUFFIXES = (".jpg", ".jpeg", ".heic", ".heif", ".hif")

# LibRaw's `flip` → the rotation (PIL transpose) that makes the preview upright.
_FLIPS = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


class RawError(ValueError):
    """A RAW file LibRaw cannot read (or rawpy missing); the message says which."""


def is_raw(path: str) -> bool:
    return path.lower().endswith(tuple(RAW_SUFFIXES))


def _rawpy() -> Any:
    try:
        import rawpy
    except ImportError as exc:
        raise RawError("RAW files need rawpy: pip install rawpy") from exc
    return rawpy


def _open(data: bytes) -> Any:
    rawpy = _rawpy()
    try:
        return rawpy.imread(io.BytesIO(data))
    except (rawpy.LibRawError, ValueError, OSError) as exc:
        raise RawError(f"not a RAW file LibRaw can read ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class DevelopedRaw:
    """A RAW file read once: the photo upright as RGB, how it was made ("preview" or "demosaic"),
    the size of the developed photo (upright), and its sensor data's name when asked for."""

    image: Image.Image
    how: str
    size: tuple[int, int]
    fingerprint: str | None = None


def read_raw(data: bytes, min_side: int, max_pixels: int, *, fingerprint: bool = False) -> DevelopedRaw:
    """Everything indexing needs from a RAW file, with LibRaw opening (and unpacking) it once: the
    embedded preview when its longer side is at least `min_side`, else the sensor data demosaiced."""
    rawpy = _rawpy()
    with _open(data) as raw:
        sizes = raw.sizes
        if sizes.width * sizes.height > max_pixels:
            raise RawError(
                f"RAW image is {sizes.width}×{sizes.height} pixels, over the {max_pixels / 1e6:.0f} MP limit; "
                "raise max_image_pixels to index it"
            )
        flip = int(sizes.flip)
        size = (sizes.height, sizes.width) if flip in (5, 6) else (sizes.width, sizes.height)
        named = _sensor_name(raw) if fingerprint else None
        preview = _preview(raw, rawpy)
        if preview is not None and max(preview.size) >= min_side:
            turn = _FLIPS.get(flip)
            return DevelopedRaw(preview.transpose(turn) if turn is not None else preview, "preview", size, named)
        try:
            pixels = raw.postprocess(use_camera_wb=True, output_bps=8, half_size=_half(sizes, min_side))
        except (rawpy.LibRawError, ValueError, MemoryError) as exc:
            raise RawError(f"LibRaw could not develop the sensor data ({type(exc).__name__}: {exc})") from exc
        return DevelopedRaw(Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB"), "demosaic", size, named)


def decode_raw(data: bytes, min_side: int, max_pixels: int) -> tuple[Image.Image, str]:
    """The photo upright as RGB, and how it was made (see read_raw)."""
    developed = read_raw(data, min_side, max_pixels)
    return developed.image, developed.how


def _preview(raw: Any, rawpy: Any) -> Image.Image | None:
    """The camera's embedded preview (a JPEG, or a bitmap), or None."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawError, ValueError):
        return None
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            image = Image.open(io.BytesIO(thumb.data))
            image.load()
            return image.convert("RGB")
        if thumb.format == rawpy.ThumbFormat.BITMAP:
            return Image.fromarray(np.ascontiguousarray(thumb.data)).convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return None  # a broken preview: the sensor data is developed instead
    return None


def _half(sizes: Any, min_side: int) -> bool:
    """Develop at half size (each 2×2 Bayer cell one pixel: 4× faster) when that is still big enough."""
    return max(sizes.width, sizes.height) // 2 >= min_side


def raw_fingerprint(data: bytes) -> str:
    """A name for the sensor data: the same for the file after its metadata is edited."""
    with _open(data) as raw:
        return _sensor_name(raw)


def _sensor_name(raw: Any) -> str:
    digest = hashlib.blake2b(raw.raw_image_visible.tobytes(), digest_size=16).hexdigest()
    return f"raw:{int(raw.sizes.flip)}:{digest}"


# exiv2 keys → the EXIF tags shashin.media reads (IFD0, the Exif IFD, the GPS IFD).
_IFD0 = {0x010F: "Exif.Image.Make", 0x0110: "Exif.Image.Model", 0x0132: "Exif.Image.DateTime"}
_EXIF = {
    0x9003: "Exif.Photo.DateTimeOriginal",
    0x9004: "Exif.Photo.DateTimeDigitized",
    0x9011: "Exif.Photo.OffsetTimeOriginal",
    0xA434: "Exif.Photo.LensModel",
}
_GPS = {
    1: "Exif.GPSInfo.GPSLatitudeRef",
    2: "Exif.GPSInfo.GPSLatitude",
    3: "Exif.GPSInfo.GPSLongitudeRef",
    4: "Exif.GPSInfo.GPSLongitude",
    5: "Exif.GPSInfo.GPSAltitudeRef",
    6: "Exif.GPSInfo.GPSAltitude",
}


def raw_exif(data: bytes) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """IFD0, Exif and GPS tags of a RAW file as Pillow would give them; empty where exiv2 reads none."""
    try:
        import pyexiv2

        with pyexiv2.ImageData(data) as image:
            tags = image.read_exif() or {}
    except Exception:  # unreadable metadata loses the date and camera, not the photo
        return {}, {}, {}

    def pick(table: dict[int, str]) -> dict[int, Any]:
        return {tag: _value(tags[key]) for tag, key in table.items() if key in tags}

    return pick(_IFD0), pick(_EXIF), pick(_GPS)


def _value(text: str) -> Any:
    """exiv2's text for a value: rationals ("35/1 39/1 2911/100") as numbers, the rest as it is."""
    parts = str(text).split()
    if parts and all("/" in part for part in parts):
        try:
            numbers = [float(Fraction(part)) for part in parts]
        except (ValueError, ZeroDivisionError):
            return text
        return numbers[0] if len(numbers) == 1 else tuple(numbers)
    if text.isdigit() and len(text) == 1:
        return int(text)  # GPSAltitudeRef: 0 above, 1 below sea level
    return text
