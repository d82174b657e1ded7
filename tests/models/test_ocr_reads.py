"""OCR's extra reads with the real PP-OCR models: enlarged second reads of a doubtful region and
tiled reads for text too small for the whole photo, each line placed back where it was read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from shashin.config import ConfigError, load_settings
from shashin.models.ocr_rapid import RapidOcr

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def sign(size: tuple[int, int], word: str, at: tuple[int, int], height: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """A noisy grey photo with `word` on a light plate at `at`; the plate's box (x0, y0, x1, y1)."""
    if not Path(FONT).exists():
        pytest.skip("needs fonts-dejavu-core")
    pixels = np.random.default_rng(3).integers(60, 140, (size[1], size[0], 3), dtype=np.uint8)
    photo = Image.fromarray(pixels)
    font = ImageFont.truetype(FONT, height)
    draw = ImageDraw.Draw(photo)
    left, top, right, bottom = draw.textbbox(at, word, font=font)
    pad = height // 2
    plate = (left - pad, top - pad, right + pad, bottom + pad)
    draw.rectangle(plate, fill=(235, 235, 230))
    draw.text(at, word, font=font, fill=(25, 25, 25))
    return np.asarray(photo), plate


def centre(box: tuple[float, ...], size: tuple[int, int]) -> tuple[float, float]:
    xs, ys = box[0::2], box[1::2]
    return sum(xs) / 4 * size[0], sum(ys) / 4 * size[1]


def test_tiles_find_a_word_too_small_for_the_whole_photo_and_place_it() -> None:
    size = (1800, 1350)
    pixels, plate = sign(size, "HOSPITAL", (1300, 1000), 11)
    whole = RapidOcr().read(pixels)
    tiled = RapidOcr(tiles=2).read(pixels)
    assert not any("HOSPITAL" in line.text for line in whole)  # what tiles are for
    [found] = [line for line in tiled if "HOSPITAL" in line.text]
    x, y = centre(found.box, size)
    assert plate[0] <= x <= plate[2] and plate[1] <= y <= plate[3]


def test_a_second_read_enlarges_a_region_and_places_its_lines_back() -> None:
    size = (1200, 900)
    pixels, plate = sign(size, "CAUTION", (700, 600), 14)
    reader = RapidOcr(second_reads=True)
    reader.load()
    bgr = np.ascontiguousarray(pixels[..., ::-1])
    corners = np.array([[plate[0], plate[1]], [plate[2], plate[1]], [plate[2], plate[3]], [plate[0], plate[3]]], float)
    [(_, score, found)] = [line for line in reader._read_again(bgr, corners) if "CAUTION" in line[0]]
    assert score >= reader.min_confidence
    x, y = found[:, 0].mean(), found[:, 1].mean()
    assert plate[0] <= x <= plate[2] and plate[1] <= y <= plate[3]


def test_extra_reads_are_part_of_the_ocr_identity_and_off_by_default() -> None:
    plain = RapidOcr().identity()
    assert "second reads" not in plain and "tiles" not in plain  # libraries OCR'd before stay as they are
    assert "second reads" in RapidOcr(second_reads=True).identity()
    assert "2×2 tiles" in RapidOcr(tiles=2).identity()
    assert load_settings({}).ocr.tiles == 0 and not load_settings({}).ocr.second_reads
    with pytest.raises(ConfigError, match="ocr.tiles"):
        load_settings({"ocr.tiles": "1"})
