"""Keywords, titles, ratings, labels, regions, places and dates from XMP, IPTC and EXIF (pyexiv2):
embedded in a photo or in an XMP sidecar. One function per field family; bad values become notes."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shashin.metadata.kept import PATH_SEPARATOR, Kept, Region, capped, clean
from shashin.untrusted import read_photo_metadata, read_sidecar

# Hierarchical keyword fields and the separator each app writes between levels.
HIERARCHIES = (
    ("Xmp.lr.hierarchicalSubject", "|"),  # Lightroom, digiKam, darktable
    ("Xmp.digiKam.TagsList", "/"),  # digiKam, immich
    ("Xmp.MicrosoftPhoto.LastKeywordXMP", "/"),  # Windows Photo Gallery
    ("Xmp.mediapro.CatalogSets", "|"),  # Expression Media, Phase One Media Pro
)
FLAT_KEYWORDS = ("Xmp.dc.subject", "Iptc.Application2.Keywords")
TITLES = ("Xmp.dc.title", "Iptc.Application2.ObjectName", "Xmp.photoshop.Headline", "Iptc.Application2.Headline")
LOCATION = (
    ("sub-location", ("Xmp.iptc.Location", "Iptc.Application2.SubLocation")),
    ("city", ("Xmp.photoshop.City", "Iptc.Application2.City")),
    ("state", ("Xmp.photoshop.State", "Iptc.Application2.ProvinceState")),
    ("country", ("Xmp.photoshop.Country", "Iptc.Application2.CountryName")),
)
DATES = ("Xmp.exif.DateTimeOriginal", "Xmp.photoshop.DateCreated", "Xmp.xmp.CreateDate")
_MWG = re.compile(r"^Xmp\.mwg-rs\.Regions/mwg-rs:RegionList\[(\d+)\]/(.+)$")
_MP = re.compile(r"^Xmp\.MP\.RegionInfo/MPRI:Regions\[(\d+)\]/(.+)$")
_XMP_GPS = re.compile(r"^\s*(\d{1,3})(?:,(\d{1,2}(?:\.\d+)?))?(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*$", re.I)
_ISO_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?)?)?(Z|[+-]\d{2}:\d{2})?$"
)
# Legacy IPTC text without a declared character set: Japanese apps wrote Shift_JIS, Western ones cp1252.
_IPTC_ENCODINGS = ("utf-8", "shift_jis", "cp1252", "latin-1")


def read_file(path: str, *, sidecar: bool, origin: str) -> Kept:
    """The fields of one photo file (embedded XMP, IPTC, EXIF) or one XMP sidecar. Unreadable,
    broken or hostile metadata (not a regular file, too large, nested too deeply) gives a Kept with
    a note saying so, never an exception."""
    import pyexiv2

    notes: list[str] = []
    try:
        raw = read_sidecar(path) if sidecar else read_photo_metadata(path)
        with pyexiv2.ImageData(raw) as data:
            xmp = _read(data.read_xmp, origin, "XMP", notes)
            iptc = {} if sidecar else _read_iptc(data, origin, notes)
            exif = {} if sidecar else _read(data.read_exif, origin, "EXIF", notes)
    except Exception as exc:  # pyexiv2 raises RuntimeError with exiv2's words for broken files
        reason = str(exc).strip() or type(exc).__name__
        what = "the sidecar" if sidecar else "the metadata"
        return Kept(sources=(origin,), notes=(f"{origin}: {what} cannot be read ({reason}); it was left out",))
    return fields(xmp, iptc, exif, origin, notes)


def _read(reader: Callable[[], dict[str, Any]], origin: str, what: str, notes: list[str]) -> dict[str, Any]:
    try:
        return reader() or {}
    except Exception as exc:  # one broken block costs only its own fields
        notes.append(f"{origin}: {what} cannot be read ({str(exc).strip() or type(exc).__name__}); it was left out")
        return {}


def _read_iptc(data: Any, origin: str, notes: list[str]) -> dict[str, Any]:
    for encoding in _IPTC_ENCODINGS:
        try:
            values = data.read_iptc(encoding=encoding) or {}
        except UnicodeDecodeError:
            continue
        except Exception as exc:
            notes.append(f"{origin}: IPTC cannot be read ({str(exc).strip() or type(exc).__name__}); it was left out")
            return {}
        if encoding != "utf-8":
            notes.append(f"{origin}: IPTC text is not UTF-8 and declares no character set; read as {encoding}")
        return values
    return {}


def fields(
    xmp: Mapping[str, Any], iptc: Mapping[str, Any], exif: Mapping[str, Any], origin: str, notes: list[str]
) -> Kept:
    """Kept from pyexiv2's dictionaries of one source."""
    flat: list[str] = []
    for key in FLAT_KEYWORDS:
        flat.extend(_texts((xmp if key.startswith("Xmp") else iptc).get(key)))
    paths: list[str] = []
    for key, separator in HIERARCHIES:
        for value in _texts(xmp.get(key)):
            levels = [level.strip() for level in value.split(separator)]
            joined = PATH_SEPARATOR.join(level for level in levels if level)
            if joined:
                paths.append(joined)
    title = next((t for key in TITLES if (t := _first_text((xmp if key.startswith("Xmp") else iptc).get(key)))), None)
    location = []
    for name, keys in LOCATION:
        text = next((t for key in keys if (t := _first_text((xmp if key.startswith("Xmp") else iptc).get(key)))), None)
        if text:
            location.append((name, text))
    taken_at, offset = _xmp_date(xmp, origin, notes)
    latitude, longitude = _xmp_position(xmp)
    regions = _mwg_regions(xmp, origin, notes) + _mp_regions(xmp, origin, notes)
    return Kept(
        keywords=capped(flat, "keywords", origin, notes),
        paths=capped(paths, "hierarchical keywords", origin, notes),
        title=title,
        rating=_rating(xmp, exif, origin, notes),
        label=_first_text(xmp.get("Xmp.xmp.Label")),
        regions=tuple(regions[:200]),
        location=tuple(location),
        taken_at=taken_at,
        utc_offset=offset,
        latitude=latitude,
        longitude=longitude,
        sources=(origin,),
        notes=tuple(notes),
    )


def _texts(value: object) -> list[str]:
    """Every text of a field: a list, a language alternative (its values) or one string."""
    if isinstance(value, dict):
        items: list[Any] = list(value.values())
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    cleaned = (clean(item) for item in items)
    return [text for text in cleaned if text and not text.startswith('type="')]


def _first_text(value: object) -> str | None:
    if isinstance(value, dict):  # a language alternative: x-default first
        value = value.get('lang="x-default"') or next(iter(value.values()), None)
    texts = _texts(value)
    return texts[0] if texts else None


def _number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rating(xmp: Mapping[str, Any], exif: Mapping[str, Any], origin: str, notes: list[str]) -> int | None:
    """Stars from xmp:Rating (-1 rejected … 5), else Microsoft's percentage, else EXIF's rating."""
    for key, percent in (
        ("Xmp.xmp.Rating", False),
        ("Xmp.MicrosoftPhoto.Rating", True),
        ("Exif.Image.Rating", False),
        ("Exif.Image.RatingPercent", True),
    ):
        raw = (xmp if key.startswith("Xmp") else exif).get(key)
        if raw in (None, ""):
            continue
        number = _number(raw)
        if number is None or not (-1 <= number <= (100 if percent else 5)):
            notes.append(
                f"{origin}: rating {str(raw)[:40]!r} in {key.split('.', 1)[1]} is not a rating; it was left out"
            )
            continue
        if percent:  # Windows: 1, 25, 50, 75, 99 for one to five stars
            return 0 if number <= 0 else min(5, 1 + int((number + 12) // 25))
        return round(number)
    return None


def _xmp_date(xmp: Mapping[str, Any], origin: str, notes: list[str]) -> tuple[datetime | None, str | None]:
    for key in DATES:
        text = _first_text(xmp.get(key))
        if not text:
            continue
        match = _ISO_DATE.match(text)
        if not match:
            notes.append(f"{origin}: date {text[:40]!r} in {key.split('.', 1)[1]} is not a date; it was left out")
            continue
        year, month, day, hour, minute, second, zone = match.groups()
        try:
            taken = datetime(
                int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError:
            notes.append(f"{origin}: date {text[:40]!r} in {key.split('.', 1)[1]} is not a date; it was left out")
            continue
        if taken.year < 1826:
            continue
        return taken, ("+00:00" if zone == "Z" else zone)
    return None, None


def _xmp_position(xmp: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """exif:GPSLatitude / GPSLongitude as XMP writes them ("35,40.123N"), as decimal degrees."""
    values = []
    for key, limit in (("Xmp.exif.GPSLatitude", 90), ("Xmp.exif.GPSLongitude", 180)):
        match = _XMP_GPS.match(str(xmp.get(key) or ""))
        if not match:
            return None, None
        degrees, minutes, seconds, hemisphere = match.groups()
        value = float(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
        value = -value if hemisphere.upper() in "SW" else value
        if abs(value) > limit:
            return None, None
        values.append(value)
    return values[0], values[1]


def _grouped(xmp: Mapping[str, Any], pattern: re.Pattern[str]) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for key, value in xmp.items():
        match = pattern.match(key)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[number] for number in sorted(found)]


def _mwg_regions(xmp: Mapping[str, Any], origin: str, notes: list[str]) -> list[Region]:
    """MWG regions (Lightroom, digiKam, Picasa, Apple): the area is centre x, y and width, height."""
    dimensions = (
        _number(xmp.get("Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w")),
        _number(xmp.get("Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:h")),
    )
    regions = []
    for entry in _grouped(xmp, _MWG):
        name = clean(entry.get("mwg-rs:Name"))
        if not name:
            continue
        kind = clean(entry.get("mwg-rs:Type")) or "Face"
        area = [_number(entry.get(f"mwg-rs:Area/stArea:{part}")) for part in "xywh"]
        box = None
        if all(value is not None for value in area):
            x, y, w, h = (float(value or 0) for value in area)
            width, height = dimensions
            if (clean(entry.get("mwg-rs:Area/stArea:unit")) or "normalized") == "pixel" and width and height:
                x, w, y, h = x / width, w / width, y / height, h / height
            box = _box((x - w / 2, y - h / 2, w, h), name, origin, notes)
        regions.append(Region(name, kind, box))
    return regions


def _mp_regions(xmp: Mapping[str, Any], origin: str, notes: list[str]) -> list[Region]:
    """Microsoft Photo regions (Windows Photo Gallery): "left, top, width, height" of a person."""
    regions = []
    for entry in _grouped(xmp, _MP):
        name = clean(entry.get("MPReg:PersonDisplayName"))
        if not name:
            continue
        parts = [_number(part) for part in str(entry.get("MPReg:Rectangle") or "").split(",")]
        numbers = tuple(float(part) for part in parts if part is not None)
        box = _box(numbers, name, origin, notes) if len(numbers) == 4 == len(parts) else None
        regions.append(Region(name, "", box))
    return regions


def _box(area: tuple[float, ...], name: str, origin: str, notes: list[str]) -> tuple[float, float, float, float] | None:
    """(left, top, width, height) clipped to the photo; None (with a note) when it has no area inside it."""
    left, top, width, height = area
    right, bottom = min(1.0, left + width), min(1.0, top + height)
    left, top = max(0.0, left), max(0.0, top)
    if width <= 0 or height <= 0 or right - left <= 0.001 or bottom - top <= 0.001:
        notes.append(f"{origin}: the region of {name!r} lies outside the photo; the name is kept without it")
        return None
    return (round(left, 5), round(top, 5), round(right - left, 5), round(bottom - top, 5))
