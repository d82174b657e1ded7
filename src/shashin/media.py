"""Reading photo files: content hash, safe decoding (EXIF orientation, HEIC, bombs), metadata, thumbnails.

Everything here runs in decode worker processes, so it takes and returns plain picklable values.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from shashin import storage
from shashin.errors import BadInput
from shashin.raw import RAW_SUFFIXES, RawError, is_raw, raw_exif, read_raw
from shashin.untrusted import read_photo_metadata, read_sidecar

# We check dimensions ourselves (with a message that says how to lift the limit) instead of
# relying on Pillow's global warning/exception pair.
Image.MAX_IMAGE_PIXELS = None

SUPPORTED_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".hif"} | RAW_SUFFIXES
)
_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "HEIF"}
_HASH_CHUNK = 1 << 20

_TAG_MAKE, _TAG_MODEL, _TAG_DATETIME = 0x010F, 0x0110, 0x0132
_IFD_EXIF, _IFD_GPS = 0x8769, 0x8825
_TAG_DATETIME_ORIGINAL, _TAG_DATETIME_DIGITIZED = 0x9003, 0x9004
_TAG_OFFSET_ORIGINAL, _TAG_LENS_MODEL = 0x9011, 0xA434
# Real UTC offsets: -12:00 to +14:00, minutes 00–59 ("+99:99" is a camera's garbage, not a zone).
_UTC_OFFSET = re.compile(r"^(?:[+-](?:0\d|1[0-3]):[0-5]\d|\+14:00)$")


class MediaError(BadInput):
    """A file that cannot be indexed as a photo; the message says why in a user's words."""


class NotAPhoto(MediaError):
    """The file's content is not a photo (as opposed to a file that could not be read this time)."""


class UnreadableFile(MediaError):
    """The file could not be read this time (permissions, a sync tool, a drive going away): its
    photo is kept and the next run tries again."""


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo says about itself; sizes are after EXIF orientation is applied."""

    width: int
    height: int
    format: str
    taken_at: datetime | None = None  # local time as recorded by the camera
    utc_offset: str | None = None  # "+09:00" when the camera recorded it
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None


class Rendition(Protocol):
    """What one channel needs from a decoded photo, computed in the decode worker.

    Implementations are small picklable dataclasses: the worker process calls `render`.
    """

    @property
    def draft_side(self) -> int:
        """The smallest side, in pixels, the decoder may reduce the photo to before `render`."""

    def render(self, image: Image.Image) -> Any:
        """The channel's input from the upright RGB photo (do not modify `image`)."""


@dataclass(frozen=True)
class MaxSide:
    """RGB pixels (uint8, H×W×3) with the longest side at most `side`."""

    side: int

    @property
    def draft_side(self) -> int:
        return self.side

    def render(self, image: Image.Image) -> np.ndarray:
        if max(image.size) > self.side:
            image = image.copy()
            image.thumbnail((self.side, self.side), Image.Resampling.BICUBIC)
        return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True)
class RenditionError:
    """A rendition that failed: only its channel fails for this photo."""

    message: str


@dataclass(frozen=True)
class DecodedPhoto:
    """A decoded photo ready for the channels: metadata, thumbnail and each channel's rendition."""

    path: str
    photo_id: str
    metadata: PhotoMetadata
    thumbnail: bytes  # WebP; empty when not asked for
    renditions: dict[str, Any] = field(default_factory=dict)  # channel name -> its input or RenditionError
    fingerprint: str | None = None  # shashin.fingerprint of its pixels, when asked for


def is_supported(path: str | Path) -> bool:
    """True when the file name has a photo extension shashin reads."""
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def hash_file(path: str | Path) -> str:
    """The content hash: a BLAKE2b-128 digest of the file's bytes, so moves and copies keep it.

    Raises NotAPhoto at once, without reading further, when the first bytes are no image format
    shashin reads (a 2 GB video named .jpg is refused in a millisecond), and MediaError when the
    file cannot be read."""
    try:
        with storage.open_binary(str(path)) as handle:
            return content_hash(handle)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from exc


def content_hash(handle: BinaryIO) -> str:
    """hash_file() of an open file, read from where it stands to its end."""
    digest = hashlib.blake2b(digest_size=16)
    first = handle.read(_HASH_CHUNK)
    if not first:
        raise NotAPhoto("empty file (0 bytes)")
    if sniff_format(first) is None:
        raise NotAPhoto(f"not a readable image: {describe_content(first)}")
    digest.update(first)
    while chunk := handle.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sniff_format(head: bytes) -> str | None:
    """The image format the first bytes of a file announce (JPEG, PNG, GIF, WebP, TIFF, HEIF), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        return "HEIF"
    return None


def describe_content(head: bytes) -> str:
    """What a file that is not a photo seems to be, in words, without quoting its content (it may
    be anything a symbolic link points to)."""
    if head.lstrip().startswith((b"<!DOCTYPE", b"<html", b"<HTML", b"<!doctype")):
        return "the file is an HTML page, not a photo"
    if head.startswith(b"%PDF"):
        return "the file is a PDF, not a photo"
    sample = head[:512]
    if sample and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in sample):
        return "the file is text, not a photo"
    return "the content is not JPEG, PNG, WebP, GIF, TIFF or HEIC"


def _register_heif() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # HEIC then fails per file with a clear message
        return
    register_heif_opener()


_register_heif()


def decode_photo(
    path: str,
    photo_id: str,
    *,
    max_pixels: int,
    renditions: Mapping[str, Rendition] | None = None,
    thumbnail_size: int = 0,
    fingerprint: bool = False,
) -> DecodedPhoto:
    """Decode `path` safely and render what each channel asked for (and, with `fingerprint`, name
    its pixels: shashin.fingerprint).

    Raises MediaError naming the reason when the file is not a usable photo.
    """
    from shashin.fingerprint import FingerprintError, image_fingerprint

    renditions = renditions or {}
    try:
        size = storage.size(path)
        source: BinaryIO | None = storage.seekable(path) if size else None
        data = b""
        if source is not None and fingerprint:
            data = source.read()  # the fingerprint parses the encoded bytes; decode from the same copy
            source.close()
            source = io.BytesIO(data)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from exc
    if source is None:
        raise NotAPhoto("empty file (0 bytes)")
    named = None
    wanted_side = max([thumbnail_size, *(r.draft_side for r in renditions.values())])
    if is_raw(path):
        rgb, metadata, named = _open_raw(source, storage.basename(path), max_pixels, wanted_side, fingerprint)
    else:
        try:
            with Image.open(source) as image:
                rgb, metadata = _open_upright(image, max_pixels, wanted_side)
                if fingerprint:  # from the encoded bytes, or the first frame as loaded (only JPEG is drafted)
                    named = image_fingerprint(image, data, max_pixels)
        except MediaError:
            raise
        except FingerprintError as exc:
            raise MediaError(f"image data is truncated or corrupt ({exc})") from exc
        except UnidentifiedImageError as exc:
            raise MediaError(f"not a readable image: {_sniff(source)}") from exc
        except OSError as exc:
            if exc.errno is not None:
                raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from exc
            raise MediaError(f"image data is truncated or corrupt ({exc})") from exc
        except (SyntaxError, ValueError, EOFError, MemoryError, IndexError) as exc:
            raise MediaError(f"image data is corrupt ({type(exc).__name__}: {exc})") from exc
        finally:
            source.close()

    thumbnail = b""
    if thumbnail_size:
        thumb = rgb.copy()
        thumb.thumbnail((thumbnail_size, thumbnail_size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        thumb.save(buffer, format="WEBP", quality=80, method=4)
        thumbnail = buffer.getvalue()
    rendered: dict[str, Any] = {}
    for name, rendition in renditions.items():
        try:
            rendered[name] = rendition.render(rgb)
        except Exception as exc:  # one channel's input failing must not cost the others theirs
            rendered[name] = RenditionError(f"{type(exc).__name__}: {exc}")
    return DecodedPhoto(path, photo_id, metadata, thumbnail, rendered, named)


def _open_raw(
    source: BinaryIO, name: str, max_pixels: int, wanted_side: int, fingerprint: bool
) -> tuple[Image.Image, PhotoMetadata, str | None]:
    """A camera RAW file (shashin.raw): upright RGB, its metadata ("DNG", "CR3" as its format),
    and its sensor data's name."""
    try:
        data = source.read()
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from exc
    finally:
        source.close()
    try:
        developed = read_raw(data, wanted_side or 1, max_pixels, fingerprint=fingerprint)
    except RawError as exc:
        raise MediaError(str(exc)) from exc
    ifd0, exif, gps = raw_exif(data)
    width, height = developed.size
    kind = Path(name).suffix[1:].upper()
    metadata = PhotoMetadata(width=width, height=height, format=kind, **_exif_values(ifd0, exif, gps))
    return developed.image, metadata, developed.fingerprint


def _open_upright(image: Image.Image, max_pixels: int, draft_side: int) -> tuple[Image.Image, PhotoMetadata]:
    """The photo as upright RGB, decoded no smaller than `draft_side`, and its metadata."""
    if image.format not in _FORMATS:
        raise MediaError(f"unsupported image format {image.format or 'unknown'}")
    width, height = image.size
    if width * height > max_pixels:
        raise MediaError(
            f"image is {width}×{height} pixels ({width * height / 1e6:.0f} MP), over the "
            f"{max_pixels / 1e6:.0f} MP limit that guards against decompression bombs; "
            "raise max_image_pixels to index it"
        )
    exif = image.getexif()
    metadata_raw = _read_exif(exif)
    if image.format in {"JPEG", "MPO"} and draft_side:
        # Let libjpeg decode at a reduced scale (never below what a channel needs): much faster.
        image.draft("RGB", (draft_side, draft_side))
    image.load()
    orientation = exif.get(0x0112)
    # Only rotate when the camera said so (exif_transpose copies the image even when it need not).
    oriented = (ImageOps.exif_transpose(image) or image) if orientation not in (None, 1) else image
    swapped = orientation in (5, 6, 7, 8)
    metadata = PhotoMetadata(
        width=height if swapped else width,
        height=width if swapped else height,
        format=image.format,
        **metadata_raw,
    )
    return _to_rgb(oriented), metadata


def _to_rgb(image: Image.Image) -> Image.Image:
    # Transparent areas become white, as a viewer shows them, rather than black.
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16"):
        array = np.asarray(image, dtype=np.uint16) >> 8
        return Image.fromarray(array.astype(np.uint8)).convert("RGB")
    if image.mode in ("F", "I"):
        return Image.fromarray(_scaled_to_bytes(np.asarray(image))).convert("RGB")
    return image.convert("RGB")


def _scaled_to_bytes(values: np.ndarray) -> np.ndarray:
    """32-bit integer or floating-point samples (scientific TIFFs, HDR exports) as 0–255: floats
    within 0–1 as they are meant, anything else stretched from its lowest to its highest value."""
    floating = values.dtype.kind == "f"
    values = values.astype(np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(values.shape, np.uint8)
    low, high = float(finite.min()), float(finite.max())
    if floating and low >= 0 and high <= 1:
        low, high = 0.0, 1.0
    scaled = np.nan_to_num((values - low) / ((high - low) or 1.0), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(scaled * 255 + 0.5, 0, 255).astype(np.uint8)


def _read_exif(exif: Image.Exif) -> dict:
    return _exif_values(exif, _safe_ifd(exif, _IFD_EXIF), _safe_ifd(exif, _IFD_GPS))


def _exif_values(exif: Mapping[int, Any], exif_ifd: Mapping[int, Any], gps: Mapping[int, Any]) -> dict:
    """Camera, lens, date, UTC offset and GPS from the IFD0, Exif and GPS tags."""
    values: dict = {}
    values["camera_make"] = _clean_text(exif.get(_TAG_MAKE))
    values["camera_model"] = _clean_text(exif.get(_TAG_MODEL))
    values["lens"] = _clean_text(exif_ifd.get(_TAG_LENS_MODEL))
    values["taken_at"] = (
        _parse_exif_datetime(exif_ifd.get(_TAG_DATETIME_ORIGINAL))
        or _parse_exif_datetime(exif_ifd.get(_TAG_DATETIME_DIGITIZED))
        or _parse_exif_datetime(exif.get(_TAG_DATETIME))
    )
    offset = _clean_text(exif_ifd.get(_TAG_OFFSET_ORIGINAL))
    values["utc_offset"] = offset if offset and _UTC_OFFSET.match(offset) else None
    values.update(_read_gps(gps))
    return values


def _safe_ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # a broken sub-IFD loses that metadata, not the photo
        return {}


def _clean_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text or None


def _parse_exif_datetime(value: object) -> datetime | None:
    text = _clean_text(value)
    if not text:
        return None
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            taken = datetime.strptime(text[:19], pattern)
        except ValueError:
            continue
        return taken if taken.year >= 1826 else None  # "0000:00:00" and the like mean unknown
    return None


def _read_gps(gps: Mapping[int, Any]) -> dict:
    def degrees(value: object) -> float | None:
        try:
            d, m, s = (float(part) for part in value)  # type: ignore[attr-defined]
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        return d + m / 60 + s / 3600

    latitude, longitude = degrees(gps.get(2)), degrees(gps.get(4))
    if latitude is None or longitude is None:
        return {}
    if str(gps.get(1, "N")).upper().startswith("S"):
        latitude = -latitude
    if str(gps.get(3, "E")).upper().startswith("W"):
        longitude = -longitude
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return {}
    result: dict = {"latitude": latitude, "longitude": longitude}
    try:
        altitude = float(gps[6])
        result["altitude"] = -altitude if gps.get(5) in (1, b"\x01") else altitude
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        pass
    return result


def _sniff(source: BinaryIO) -> str:
    try:
        source.seek(0)
        head = source.read(512)
    except (OSError, ValueError):
        return "the content could not be read"
    announced = sniff_format(head)
    if announced:
        return (
            f"the file starts like a {announced} image, but its data is damaged or in a variant that cannot be decoded"
        )
    return describe_content(head)


# Descriptions cameras write by themselves: not captions.
_CAMERA_BOILERPLATE = re.compile(
    r"^(?:[A-Z0-9 .\-_/<>]*(?:DIGITAL CAMERA|DSC|DCIM|CAMERA)|default|untitled|image|photo|picture|none|"
    r"SONY DSC|OLYMPUS DIGITAL CAMERA|SAMSUNG|HUAWEI|LG|HTC|KODAK.*)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class EmbeddedDescription:
    """A description found in a photo's metadata or its XMP sidecar."""

    text: str
    lang: str  # "x-default" when the file does not say
    origin: str  # xmp, xmp-sidecar, iptc, exif


def read_descriptions(path: str) -> list[EmbeddedDescription]:
    """Descriptions in the photo (XMP dc:description, IPTC Caption-Abstract, EXIF ImageDescription)
    and in an XMP sidecar (photo.xmp or photo.jpg.xmp); camera boilerplate left out."""
    import pyexiv2

    found: list[EmbeddedDescription] = []
    sources = [(path, "")] + [(sidecar, "-sidecar") for sidecar in _sidecars(path)]
    for source, suffix in sources:
        try:
            with pyexiv2.ImageData(read_sidecar(source) if suffix else read_photo_metadata(source)) as data:
                xmp = data.read_xmp() or {}
                iptc = {} if suffix else (data.read_iptc() or {})
                exif = {} if suffix else (data.read_exif() or {})
        except Exception:  # unreadable metadata is not an error of the photo
            continue
        description = xmp.get("Xmp.dc.description")
        if isinstance(description, dict):
            for key, text in description.items():
                lang = key.split("=", 1)[-1].strip('"') if "=" in key else "x-default"
                found.append(EmbeddedDescription(str(text), lang, "xmp" + suffix))
        elif isinstance(description, str):
            found.append(EmbeddedDescription(description, "x-default", "xmp" + suffix))
        caption = iptc.get("Iptc.Application2.Caption")
        if caption:
            found.append(
                EmbeddedDescription(caption if isinstance(caption, str) else " ".join(caption), "x-default", "iptc")
            )
        if exif.get("Exif.Image.ImageDescription"):
            found.append(EmbeddedDescription(str(exif["Exif.Image.ImageDescription"]), "x-default", "exif"))
    return [d for d in found if d.text.strip() and not _CAMERA_BOILERPLATE.match(d.text.strip())]


def _sidecars(path: str) -> list[str]:
    stem = path[: len(path) - len(Path(storage.basename(path)).suffix)]
    shared = [candidate for candidate in (f"{stem}.xmp", f"{stem}.XMP") if storage.exists(candidate)]
    if shared and not owns_stem_sidecar(storage.basename(path), _photos_with_stem(path)):
        shared = []  # photo.xmp beside a.jpg and a.png is neither's
    return [*shared, *[candidate for candidate in (f"{path}.xmp",) if storage.exists(candidate)]]


def _photos_with_stem(path: str) -> list[str]:
    """The photo files beside `path` with its stem (its own name included)."""
    name = storage.basename(path)
    stem = name[: len(name) - len(Path(name).suffix)]
    folder = storage.parent(path)
    if storage.is_remote(path):
        names = [storage.relative(found, folder) for found, _, _ in storage.list_files(folder)]
    else:
        names = os.listdir(folder)
    return [other for other in names if is_supported(other) and other[: len(other) - len(Path(other).suffix)] == stem]


def owns_stem_sidecar(name: str, sharers: Sequence[str]) -> bool:
    """Whether the photo `name` owns `stem.xmp` when the photos `sharers` (its own name among them)
    share that stem: alone it does; beside others only when it is their one RAW (Lightroom and
    Capture One write a RAW+JPEG pair's sidecar for the RAW). Two JPEG/PNG twins own neither."""
    if len(sharers) <= 1:
        return True
    raws = [other for other in sharers if is_raw(other)]
    return len(raws) == 1 and raws[0] == name
