"""Import existing captions: from JSONL/CSV files, or from descriptions already inside the photos.

Entries are matched to the library's photos by absolute path, by path relative to a library
folder (or its parent), or by file name when only one photo has it. Imported captions go through
the same guard as generated ones, and never replace a caption a person edited.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shashin import storage
from shashin.errors import BadInput
from shashin.ingest.captioning import CaptionFailure, CaptionReport
from shashin.jsonl import jsonl_objects
from shashin.media import read_descriptions
from shashin.store import Store, photo_finder
from shashin.store.rows import caption_id, caption_row
from shashin.text.guard import check_caption
from shashin.text.lang import guess_language

_TEXT_KEYS = ("text", "caption", "description", "alt", "alt_text")
_PATH_KEYS = ("path", "file", "filename", "image", "file_name")


class CaptionFileError(BadInput, ValueError):
    """The caption file cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class ImportedCaption:
    """One caption from a file or a photo's metadata, before it is matched to a photo."""

    key: str  # a path or a file name
    text: str
    lang: str
    origin: str  # the file's name, or xmp / iptc / exif


def read_caption_file(path: Path, default_lang: str | None = None) -> list[ImportedCaption]:
    """Captions from JSONL (one object a line) or CSV (a header row): path/file → text, lang."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptionFileError(f"{path}: cannot read: {exc}") from exc
    rows = _jsonl(path, content) if path.suffix.lower() in (".jsonl", ".json", ".ndjson") else _csv(path, content)
    captions: list[ImportedCaption] = []
    for number, row in rows:
        key = next((str(row[k]) for k in _PATH_KEYS if row.get(k)), None)
        if key is None:
            raise CaptionFileError(f"{path}:{number}: no path or file name (expected one of {', '.join(_PATH_KEYS)})")
        texts = _texts(row, default_lang)
        if not texts:
            raise CaptionFileError(
                f"{path}:{number}: no caption text (expected one of {', '.join(_TEXT_KEYS)} or captions_<lang>)"
            )
        captions.extend(ImportedCaption(key, text, lang, path.name) for text, lang in texts)
    return captions


def _jsonl(path: Path, content: str) -> Iterator[tuple[int, dict[str, Any]]]:
    return jsonl_objects(path, content, CaptionFileError)


def _csv(path: Path, content: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(content.splitlines())
    if not reader.fieldnames:
        raise CaptionFileError(f"{path}: empty CSV file")
    for number, row in enumerate(reader, start=2):
        yield number, {k.strip().lower(): v for k, v in row.items() if k}


def _texts(row: dict[str, Any], default_lang: str | None) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for key in _TEXT_KEYS:
        if isinstance(row.get(key), str) and row[key].strip():
            text = row[key].strip()
            texts.append((text, str(row.get("lang") or row.get("language") or default_lang or guess_language(text))))
            break
    for key, value in row.items():  # COCO-style: captions_en: [...], captions_ja: [...] (the first of each)
        if key.startswith("captions_") and isinstance(value, list) and value and isinstance(value[0], str):
            texts.append((value[0].strip(), key.removeprefix("captions_")))
    return texts


def import_captions(
    store: Store,
    captions: list[ImportedCaption],
    *,
    prompt_set: str,
    report: CaptionReport | None = None,
) -> CaptionReport:
    """Store `captions` for the photos they name; the report counts what matched and what did not."""
    started = time.monotonic()
    report = report or CaptionReport(backend="import", prompt_set=prompt_set)
    files = store.files()
    find = photo_finder(store, files)
    humans = {row["caption_id"] for row in store.captions(["caption_id"], source="human")}
    rows: dict[str, dict[str, Any]] = {}
    for item in captions:
        photo_id = find(item.key)
        if photo_id is None:
            report.not_found += 1
            continue
        cid = caption_id(photo_id, prompt_set, item.lang)
        if cid in humans:
            report.kept_human += 1
            continue
        verdict = check_caption(item.text)
        path = next((row.path for row in files.values() if row.photo_id == photo_id), item.key)
        if not verdict.ok:
            report.failures.append(CaptionFailure(path, item.lang, verdict.problem or ""))
        rows[cid] = caption_row(
            photo_id,
            prompt_set,
            item.lang,
            text=verdict.text,
            raw=item.text,
            source="imported",
            backend="import",
            model=item.origin,
            prompt="",
            params="{}",
            version=f"import:{item.origin}",
            problem=verdict.problem,
        )
    store.put_captions(list(rows.values()))
    report.written += sum(1 for row in rows.values() if row["status"] == "done")
    report.failed += sum(1 for row in rows.values() if row["status"] == "failed")
    report.langs = sorted({row["lang"] for row in rows.values()})
    report.seconds += time.monotonic() - started
    return report


def embedded_captions(store: Store) -> list[ImportedCaption]:
    """Descriptions already inside the library's photos (XMP, IPTC, EXIF) and their XMP sidecars."""
    captions: list[ImportedCaption] = []
    seen: set[str] = set()
    for row in sorted(store.files().values(), key=lambda r: r.path):
        if row.photo_id in seen or not storage.reachable(row.path):
            continue
        seen.add(row.photo_id)
        languages: set[str] = set()
        for found in read_descriptions(row.path):  # XMP first: it carries languages
            lang = found.lang.split("-")[0].lower() if found.lang != "x-default" else guess_language(found.text)
            if lang not in languages:
                languages.add(lang)
                captions.append(ImportedCaption(row.path, found.text, lang, found.origin))
    return captions
