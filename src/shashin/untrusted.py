"""Reading files that are not ours — XMP sidecars, Google Takeout JSON, the metadata inside photos —
so that no such file can stop a run: regular files only (a FIFO or /dev/zero is refused before
any read), bounded bytes judged before reading, bounded nesting before any parser recurses.
Each refusal is an UntrustedFileError whose message says why; callers turn it into a note for
the photo and carry on."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from shashin import storage

MAX_SIDECAR_BYTES = 16 << 20  # an XMP sidecar: Lightroom's hold kilobytes, darktable's with long histories a few MB
MAX_JSON_BYTES = 1 << 20  # a Takeout JSON holds a few kilobytes
MAX_EMBEDDED_BYTES = 1 << 30  # a photo file read whole for its metadata (RAWs reach 200 MB, TIFF scans more)
MAX_DEPTH = 64  # nesting of XML elements or JSON values: XMP needs about 10, Takeout 4
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_XML_INERT = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.DOTALL)  # comments and CDATA hold no elements
_XMP_START, _XMP_END = b"<x:xmpmeta", b"</x:xmpmeta>"


class UntrustedFileError(ValueError):
    """A file that is not ours was refused: it is not a regular file, too large or too deeply nested."""


def read_limited(path: str, limit: int, what: str) -> bytes:
    """The bytes of `path` when it is a regular file of at most `limit` bytes (`what` names it in errors)."""
    try:
        return storage.read_bytes(path, limit)
    except OSError as exc:
        raise UntrustedFileError(f"{what}: {exc.strerror or exc}") from exc


def read_sidecar(path: str) -> bytes:
    """An XMP sidecar's bytes, refused when it is not a regular file, too large or nested too deeply."""
    data = read_limited(path, MAX_SIDECAR_BYTES, "the sidecar")
    check_xml_depth(data, "the sidecar")
    return data


def read_photo_metadata(path: str) -> bytes:
    """A photo file's bytes for its metadata, with the XMP packet inside it checked for depth."""
    data = read_limited(path, MAX_EMBEDDED_BYTES, "the photo")
    start = data.find(_XMP_START)
    if start >= 0:
        end = data.find(_XMP_END, start)
        check_xml_depth(data[start : end if end > 0 else len(data)], "its XMP")
    return data


def load_json(path: str, limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON file's value, refused when it is not a regular file, larger than `limit` bytes, not
    UTF-8 JSON, or nested deeper than MAX_DEPTH (json would recurse until RecursionError)."""
    data = read_limited(path, limit, "the JSON")
    depth = json_depth(data)
    if depth > MAX_DEPTH:
        raise UntrustedFileError(f"nested {depth} levels deep; the limit is {MAX_DEPTH}")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UntrustedFileError(f"not JSON ({str(exc).splitlines()[0][:120]})") from exc


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings not counted)."""
    bare = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int32) - np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def xml_depth(data: bytes) -> int:
    """The deepest nesting of elements in XML text, judged from its tags ("<a>" opens, "</a>" and
    "/>" close; comments, CDATA, declarations and processing instructions are not elements)."""
    raw = np.frombuffer(_XML_INERT.sub(b"", data), dtype=np.uint8)
    if raw.size < 2:
        return 0
    first, second = raw[:-1], raw[1:]
    tag = first == ord("<")
    opens = tag & ~np.isin(second, (ord("/"), ord("!"), ord("?")))
    closes = (tag & (second == ord("/"))) | ((first == ord("/")) & (second == ord(">")))
    return int(np.cumsum(opens.astype(np.int32) - closes).max(initial=0))


def check_xml_depth(data: bytes, what: str) -> None:
    """Refuse XML nested deeper than MAX_DEPTH before a parser walks it."""
    depth = xml_depth(data)
    if depth > MAX_DEPTH:
        raise UntrustedFileError(f"{what}: XML nested {depth} levels deep; the limit is {MAX_DEPTH}")


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else [] (a file that says "people": 5 has no people)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else {}."""
    return value if isinstance(value, dict) else {}
