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
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


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
