"""Small DNG files written here (tifffile), as cameras and converters lay them out: a Bayer
(RGGB) mosaic of a picture, with or without an embedded preview, and EXIF written by exiv2.
LibRaw reads them as it reads any DNG; no other RAW container can be written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

WHITE = 4095


def _srational(values: list[float]) -> list[int]:
    out: list[int] = []
    for value in values:
        out += [round(value * 10000), 10000]
    return out


# sRGB → XYZ (D65) inverted is what DNG's ColorMatrix1 holds for a camera that sees sRGB primaries.
_XYZ_TO_CAMERA = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]
_DNG_TAGS = [
    (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
    (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
    (50708, "s", 0, "Shashin TestCam", True),  # UniqueCameraModel
    (50721, "2i", 9, _srational(_XYZ_TO_CAMERA), True),  # ColorMatrix1
    (50728, "2I", 3, [1, 1, 1, 1, 1, 1], True),  # AsShotNeutral
    (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
    (271, "s", 0, "Shashin", True),  # Make
    (272, "s", 0, "TestCam 1", True),  # Model
]
_CFA_TAGS = [
    (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
    (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
    (50717, "I", 1, WHITE, True),  # WhiteLevel
]


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """What an RGGB sensor records of an sRGB picture (H×W×3 uint8, even sides), 12-bit linear."""
    linear = (rgb.astype(np.float64) / 255.0) ** 2.2
    out = np.zeros(rgb.shape[:2], np.uint16)
    out[0::2, 0::2] = linear[0::2, 0::2, 0] * WHITE
    out[0::2, 1::2] = linear[0::2, 1::2, 1] * WHITE
    out[1::2, 0::2] = linear[1::2, 0::2, 1] * WHITE
    out[1::2, 1::2] = linear[1::2, 1::2, 2] * WHITE
    return out


def write_dng(
    path: Path, rgb: np.ndarray, preview: np.ndarray | None = None, exif: dict[str, str] | None = None
) -> Path:
    """A DNG of `rgb` (the raw data in IFD0, or with `preview` in IFD0 and the raw in a SubIFD, as
    cameras do), with these EXIF values written by exiv2 ("Exif.Photo.DateTimeOriginal": …)."""
    raw = mosaic(rgb)
    if preview is None:
        tifffile.imwrite(path, raw, photometric=32803, extratags=_DNG_TAGS + _CFA_TAGS, metadata=None)
    else:
        with tifffile.TiffWriter(path) as tif:
            tif.write(preview, photometric="rgb", subfiletype=1, subifds=1, extratags=_DNG_TAGS, metadata=None)
            tif.write(raw, photometric=32803, subfiletype=0, extratags=_CFA_TAGS, metadata=None)
    if exif:
        import pyexiv2

        with pyexiv2.Image(str(path)) as image:
            image.modify_exif(exif)
    return path
