"""A corpus of broken files every photo tool meets in the wild, written into a folder."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming huge dimensions, with almost no data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def write_bad_files(folder: Path, good_jpeg: bytes) -> dict[str, str]:
    """Write one file per kind of damage; returns display path -> a word its error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def add(name: str, data: bytes, reason: str) -> None:
        (folder / name).write_bytes(data)
        expected[str(folder / name)] = reason

    add("empty.jpg", b"", "empty file")
    add("truncated.jpg", good_jpeg[: len(good_jpeg) // 3], "truncated")
    add("notes.jpg", b"shopping list: milk, eggs\n" * 20, "not a readable image")
    add("page.png", b"<!DOCTYPE html><html><body>404</body></html>", "HTML page")
    add("bomb.png", png_bomb(), "decompression bomb")

    os.symlink(folder / "gone.jpg", folder / "link.jpg")
    expected[str(folder / "link.jpg")] = "broken symbolic link"

    os.mkfifo(folder / "pipe.jpg")
    expected[str(folder / "pipe.jpg")] = "not a regular file"

    raw_name = os.fsencode(str(folder)) + b"/caf\xe9-latin1.jpg"  # Latin-1 bytes: not UTF-8
    with open(raw_name, "wb") as handle:
        handle.write(good_jpeg)
    expected[os.fsencode(raw_name).decode("utf-8", "backslashreplace")] = "not valid UTF-8"
    return expected


def write_odd_shapes(folder: Path) -> dict[str, str]:
    """Images a model cannot use as they are: a strip, a divider line, 60000×1, a single pixel.
    Each must be indexed (or refused) with bounded memory; returns path -> "" (indexed)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    shapes = {
        "strip.gif": (600, 1),
        "divider.png": (2000, 2),
        "needle.png": (60_000, 1),
        "dot.png": (1, 1),
        "tower.jpg": (20, 3000),
    }
    for name, size in shapes.items():
        Image.new("RGB", size, (40, 40, 40)).save(folder / name)
    return {str(folder / name): "" for name in shapes}


def write_hostile_contents(folder: Path) -> dict[str, str]:
    """Files whose names promise a photo: a damaged PNG, a 2 GB file of nothing (sparse, so it
    costs no disk), and a symbolic link to a secret. path -> a word its error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDgarbage" * 8)
    expected[str(folder / "damaged.png")] = "starts like a PNG image"
    (folder / "cut.webp").write_bytes(b"RIFF\x00\x10\x00\x00WEBPVP8 " + b"\x00" * 16)
    expected[str(folder / "cut.webp")] = "truncated or corrupt"
    with open(folder / "video.jpg", "wb") as handle:
        handle.truncate(2 * 1024**3)
    expected[str(folder / "video.jpg")] = "not JPEG, PNG"
    secret = folder.parent / "secret.txt"
    secret.write_text("root:x:0:0:the secret first line\n" * 3)
    os.symlink(secret, folder / "passwd.jpg")
    expected[str(folder / "passwd.jpg")] = "the file is text"
    return expected
