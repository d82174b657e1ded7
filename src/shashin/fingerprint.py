"""What a photo looks like apart from its metadata: a fingerprint of its image data.

Other apps edit photos' metadata in place (a rating from Lightroom, keywords from digiKam, alt
text from `shashin export --format embed`): the bytes change, the pixels do not. The content hash
then names a new file; this fingerprint still names the same photo, so the library keeps its id,
its outputs and, above all, the words a person wrote for it.

JPEG, PNG and WebP are fingerprinted from their encoded image data with the metadata containers
left out (APPn/COM segments, text/EXIF chunks, EXIF/XMP/ICC chunks), as exiftool's ImageDataHash
does: no decoding, one read. Other formats (TIFF, GIF, HEIC) are decoded and their pixels hashed.
The EXIF orientation is part of the fingerprint: a photo turned by another app is shown, read by
OCR and embedded differently, so it is indexed again.
"""

from __future__ import annotations

import hashlib
import io
import struct

from PIL import Image

from shashin import storage
from shashin.errors import BadInput
from shashin.raw import RawError, is_raw, raw_fingerprint

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IMAGE_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"acTL", b"fcTL", b"fdAT"}
_WEBP_IMAGE_CHUNKS = {b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"}
_ORIENTATION = 0x0112


class FingerprintError(BadInput, ValueError):
    """The image data could not be read (the file is damaged)."""


def pixel_fingerprint(path: str, max_pixels: int) -> str:
    """A stable name for the pixels of the photo at `path` (local path or object URI).

    Raises FingerprintError, or OSError when the file cannot be read."""
    data = storage.read_bytes(path)
    if is_raw(path):
        try:
            return raw_fingerprint(data)
        except RawError as exc:
            raise FingerprintError(str(exc)) from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image_fingerprint(image, data, max_pixels)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        if isinstance(exc, FingerprintError):
            raise
        raise FingerprintError(f"{type(exc).__name__}: {exc}") from exc


def image_fingerprint(image: Image.Image, data: bytes, max_pixels: int) -> str:
    """pixel_fingerprint() of a file already read (`data`) and opened (`image`, not yet drafted
    or rotated; decoded here only for formats without an image-data parser)."""
    width, height = image.size
    if width * height > max_pixels:  # before anything that could decode it (a bomb)
        raise FingerprintError(f"{width}×{height} pixels is over the {max_pixels} pixel limit")
    try:
        if data.startswith(b"\xff\xd8"):
            kind, digest, orientation = "jpeg", _jpeg_image_data(data), _orientation(image.getexif())
        elif data.startswith(_PNG_SIGNATURE):
            digest, exif = _png_image_data(data)
            kind, orientation = "png", _orientation(_exif(exif))
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            kind, digest, orientation = "webp", _webp_image_data(data), _orientation(image.getexif())
        else:
            kind, digest = "pixels", decoded_pixels_digest(image, max_pixels)
            orientation = _orientation(image.getexif())
    except struct.error as exc:
        raise FingerprintError(f"the image data is truncated ({exc})") from exc
    return f"{kind}:{orientation}:{digest}"


def decoded_pixels_digest(image: Image.Image, max_pixels: int) -> str:
    """The digest of an opened image's first frame as decoded (no draft, no rotation)."""
    width, height = image.size
    if width * height > max_pixels:
        raise FingerprintError(f"{width}×{height} pixels is over the {max_pixels} pixel limit")
    image.load()
    digest = hashlib.blake2b(repr((image.mode, image.size)).encode(), digest_size=16)
    if image.mode in ("P", "PA") and image.palette is not None:
        digest.update(image.palette.tobytes())  # the same indices in other colours are another picture
    digest.update(image.tobytes())
    return digest.hexdigest()


def _orientation(exif: Image.Exif | None) -> int:
    try:
        value = exif.get(_ORIENTATION, 1) if exif is not None else 1
    except Exception:  # unreadable EXIF: as the decoder treats it, no rotation
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _exif(raw: bytes | None) -> Image.Exif | None:
    if not raw:
        return None
    exif = Image.Exif()
    try:
        exif.load(raw if raw.startswith(b"Exif") else b"Exif\x00\x00" + raw)
    except Exception:
        return None
    return exif


def _jpeg_image_data(data: bytes) -> str:
    """Everything but APPn and COM segments up to the first scan, then the scans to the end."""
    digest = hashlib.blake2b(digest_size=16)
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise FingerprintError(f"JPEG segment expected at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if length < 2:
            raise FingerprintError(f"JPEG segment of length {length} at byte {position}")
        if marker == 0xDA:  # start of scan: the image data runs from here
            digest.update(data[position:])
            return digest.hexdigest()
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            digest.update(data[position : position + 2 + length])
        position += 2 + length
    raise FingerprintError("JPEG without image data (no start of scan)")


def _png_image_data(data: bytes) -> tuple[str, bytes | None]:
    """The digest of the image chunks, and the eXIf chunk (read here: Pillow decodes the whole
    image to find it)."""
    digest = hashlib.blake2b(digest_size=16)
    position = len(_PNG_SIGNATURE)
    seen = False
    exif = None
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data):
            raise FingerprintError(f"PNG chunk {kind!r} runs past the end of the file")
        if kind in _PNG_IMAGE_CHUNKS:
            digest.update(data[position:end])
            seen = seen or kind == b"IDAT"
        elif kind == b"eXIf":
            exif = data[position + 8 : end - 4]
        if kind == b"IEND":
            break
        position = end
    if not seen:
        raise FingerprintError("PNG without image data (no IDAT chunk)")
    return digest.hexdigest(), exif


def _webp_image_data(data: bytes) -> str:
    digest = hashlib.blake2b(digest_size=16)
    position = 12
    seen = False
    while position + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[position : position + 8])
        end = position + 8 + length + (length & 1)
        if kind in _WEBP_IMAGE_CHUNKS:
            digest.update(data[position : min(end, len(data))])
            seen = True
        position = end
    if not seen:
        raise FingerprintError("WebP without image data")
    return digest.hexdigest()
