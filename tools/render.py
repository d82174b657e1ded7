"""Render photo-like images with signs in English and Japanese, for tests, benchmarks and samples/.

    python tools/render.py samples      # (re)writes the sample photos the demo indexes

Japanese text needs a CJK font (Debian: fonts-noto-cjk).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

_FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
]


def cjk_font_path() -> str | None:
    """A font file that draws Japanese, or None when the machine has none."""
    return next((path for path in _FONT_CANDIDATES if Path(path).exists()), None)


@dataclass
class Sign:
    """A photo of a sign: lines of text on a panel over a textured background."""

    lines: list[str]
    size: tuple[int, int] = (800, 520)
    seed: int = 0
    panel: tuple[int, int, int] = (245, 245, 240)
    ink: tuple[int, int, int] = (20, 20, 20)
    exif: dict = field(default_factory=dict)  # camera_make, camera_model, taken_at, gps=(lat, lon)
    orientation: int = 1  # EXIF orientation; pixels are stored rotated so a viewer shows them upright


def render(sign: Sign) -> Image.Image:
    """The upright picture of `sign` (before any EXIF rotation is applied to the stored pixels)."""
    rng = random.Random(sign.seed)
    width, height = sign.size
    image = Image.new("RGB", sign.size)
    draw = ImageDraw.Draw(image)
    top = tuple(rng.randint(40, 200) for _ in range(3))
    bottom = tuple(rng.randint(40, 200) for _ in range(3))
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    for _ in range(25):  # some "scenery" so the picture is not a flat card
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(10, 80)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randint(0, 255) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(3))
    draw = ImageDraw.Draw(image)
    font_path = cjk_font_path()
    fonts = [ImageFont.truetype(font_path, 64) if font_path else ImageFont.load_default(size=64)]
    margin = int(width * 0.08)
    line_height = 96
    panel_height = line_height * len(sign.lines) + 60
    y0 = (height - panel_height) // 2
    draw.rectangle([margin, y0, width - margin, y0 + panel_height], fill=sign.panel, outline=(60, 60, 60), width=6)
    for i, line in enumerate(sign.lines):
        font = fonts[0]
        text_width = draw.textlength(line, font=font)
        draw.text(((width - text_width) / 2, y0 + 30 + i * line_height), line, fill=sign.ink, font=font)
    return image


def save(sign: Sign, path: Path, format: str | None = None) -> Path:
    """Render `sign` and write it to `path` (format from the suffix unless given), with EXIF."""
    image = render(sign)
    stored = image.transpose(_STORE_ROTATION[sign.orientation]) if sign.orientation != 1 else image
    exif = Image.Exif()
    if sign.orientation != 1:
        exif[0x0112] = sign.orientation
    meta = sign.exif
    if "camera_make" in meta:
        exif[0x010F] = meta["camera_make"]
    if "camera_model" in meta:
        exif[0x0110] = meta["camera_model"]
    if "taken_at" in meta:
        exif.get_ifd(0x8769)[0x9003] = meta["taken_at"]
    if "gps" in meta:
        lat, lon = meta["gps"]
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = (format or path.suffix.lstrip(".")).upper()
    kind = {"JPG": "JPEG", "TIF": "TIFF", "HEIC": "HEIF"}.get(kind, kind)
    options: dict = {}
    if kind in {"JPEG", "WEBP", "HEIF"}:
        options["quality"] = 90
    if kind in {"JPEG", "WEBP", "PNG", "HEIF"} and (meta or sign.orientation != 1):
        options["exif"] = exif.tobytes()
    if kind == "TIFF":  # libtiff cannot compress and write an EXIF sub-IFD together; keep it small
        options["compression"] = "tiff_deflate"
    if kind == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    if kind == "GIF":
        stored = stored.convert("P", palette=Image.Palette.ADAPTIVE)
    stored.save(path, format=kind, **options)
    return path


# How to store pixels so that applying the EXIF orientation shows them upright.
_STORE_ROTATION = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # viewer rotates 90° clockwise, so store counter-clockwise
    8: Image.Transpose.ROTATE_270,
}


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return (float(degrees), float(minutes), seconds)


SAMPLES: dict[str, Sign] = {
    "tokyo/2024-04-03_park-sign.jpg": Sign(
        ["NO LITTER", "ポイ捨て禁止"],
        seed=1,
        exif={
            "camera_make": "FUJIFILM",
            "camera_model": "X-T5",
            "taken_at": "2024:04:03 10:12:00",
            "gps": (35.6852, 139.7100),
        },
    ),
    "tokyo/station.jpg": Sign(
        ["東京駅", "Tokyo Station"],
        seed=2,
        panel=(30, 60, 140),
        ink=(255, 255, 255),
        exif={
            "camera_make": "Apple",
            "camera_model": "iPhone 15",
            "taken_at": "2024:04:02 18:40:00",
            "gps": (35.6812, 139.7671),
        },
    ),
    "tokyo/train-notice.webp": Sign(["スマホ 歩き禁止", "NO PHONES WHILE WALKING"], seed=3, size=(1000, 520)),
    "tokyo/exit.png": Sign(["出口 EXIT"], seed=4, panel=(20, 130, 60), ink=(255, 255, 255)),
    "kyoto/kiyomizu.jpg": Sign(
        ["清水寺", "Kiyomizu-dera"],
        seed=5,
        exif={
            "camera_make": "Canon",
            "camera_model": "Canon EOS R6",
            "taken_at": "2023:11:20 09:05:00",
            "gps": (34.9949, 135.7850),
        },
    ),
    "kyoto/cafe-menu.gif": Sign(["COFFEE 450円", "抹茶ラテ"], seed=6),
    "conference/slide-welcome.tiff": Sign(["Welcome to PyCon JP", "ようこそ"], seed=7, size=(960, 540)),
    "conference/wet-floor-rotated.jpg": Sign(
        ["WET FLOOR", "足元注意"],
        seed=8,
        orientation=6,
        exif={"camera_make": "SONY", "camera_model": "ILCE-7M4", "taken_at": "2025:09:14 14:30:00"},
    ),
    "beach/open-sign.heic": Sign(["OPEN", "営業中"], seed=9, exif={"taken_at": "2023:07:22 11:00:00"}),
}


def write_samples(folder: Path) -> list[Path]:
    """Write the sample photos under `folder`."""
    return [save(sign, folder / name) for name, sign in SAMPLES.items()]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tools/render.py FOLDER")
    if cjk_font_path() is None:
        sys.exit("no CJK font found; install one (Debian: apt install fonts-noto-cjk)")
    for written in write_samples(Path(sys.argv[1])):
        print(written)
