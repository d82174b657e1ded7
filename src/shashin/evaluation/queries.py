"""What an evaluation asks: query files, and query sets made from the library itself.

Query file rows (JSONL, one object a line):
  {"id": "q1", "query": "red car", "lang": "en", "relevant": ["street/car.jpg", "<photo id>"]}
  {"query": "犬", "relevant_category": "dogs"}    # every photo in a folder named "dogs"
Paths may be absolute, relative to an indexed folder or its parent, unique file names, or ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shashin.errors import BadInput
from shashin.jsonl import jsonl_objects
from shashin.store import Store, photo_finder
from shashin.text.lang import guess_language

CATEGORY_DEPTH = 20  # a category query is judged on its first 20 results


class QueryFileError(BadInput, ValueError):
    """A query file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class EvalQuery:
    """One question with its answer: a text (or a photo) and the photos that are relevant."""

    id: str
    text: str
    lang: str
    relevant: frozenset[str]  # photo ids
    protocol: str  # queries, categories, captions, known-captions, similar
    depth: int | None = None  # judge only this many results (categories: 20)
    photo: str | None = None  # the query photo (similar protocol)


def load_queries(path: Path, store: Store) -> list[EvalQuery]:
    """The queries of a JSONL file, relevant photos resolved to ids (errors name file:line)."""
    find = photo_finder(store)
    folders = categories(store)
    queries: list[EvalQuery] = []
    for number, row in jsonl_objects(path, _read(path), QueryFileError):
        where = f"{path}:{number}"
        text = row.get("query")
        if not isinstance(text, str) or not text.strip():
            raise QueryFileError(f'{where}: no "query" text')
        lang = str(row.get("lang") or guess_language(text))
        identifier = str(row.get("id") or f"{path.stem}:{number}")
        if "relevant_category" in row:
            name = str(row["relevant_category"]).casefold()
            relevant = frozenset(pid for pid, category in folders.items() if category.casefold() == name)
            if not relevant:
                raise QueryFileError(f"{where}: no photo is in a folder named {row['relevant_category']!r}")
            queries.append(EvalQuery(identifier, text, lang, relevant, "categories", CATEGORY_DEPTH))
            continue
        keys = row.get("relevant")
        if not isinstance(keys, list) or not keys:
            raise QueryFileError(f'{where}: expected "relevant": [paths or photo ids] or "relevant_category"')
        found = _resolve(keys, find, where)
        queries.append(EvalQuery(identifier, text, lang, frozenset(found), "queries"))
    if not queries:
        raise QueryFileError(f"{path}: no queries in it")
    return queries


def known_caption_queries(path: Path, store: Store) -> list[EvalQuery]:
    """Known-caption mode: rows of photos with several captions per language (COCO style:
    {"image": "images/1.jpg", "captions_en": [...], "captions_ja": [...]}). The first caption of
    each language is what gets imported (shashin caption --backend import reads the same file);
    the others are the queries, each with its own photo relevant."""
    find = photo_finder(store)
    queries: list[EvalQuery] = []
    for number, row in jsonl_objects(path, _read(path), QueryFileError):
        where = f"{path}:{number}"
        key = next((str(row[k]) for k in ("path", "image", "file", "filename") if row.get(k)), None)
        if key is None:
            raise QueryFileError(f"{where}: no path (expected path, image, file or filename)")
        photo_id = find(key) or find(os.path.normpath(os.path.join(str(path.parent), key)))
        if photo_id is None:
            raise QueryFileError(f"{where}: {key} is not a photo of this library (index its folder first)")
        for field, captions in row.items():
            if field.startswith("captions_") and isinstance(captions, list):
                lang = field.removeprefix("captions_")
                for index, caption in enumerate(captions[1:], start=1):
                    if isinstance(caption, str) and caption.strip():
                        queries.append(
                            EvalQuery(
                                f"{Path(key).stem}:{lang}:{index}",
                                caption.strip(),
                                lang,
                                frozenset({photo_id}),
                                "known-captions",
                            )
                        )
    if not queries:
        raise QueryFileError(f"{path}: no second captions to ask (rows need captions_<lang> lists of 2 or more)")
    return queries


def caption_queries(store: Store) -> list[EvalQuery]:
    """Caption self-retrieval: every stored caption as a query, its own photo relevant."""
    rows = store.captions(["caption_id", "photo_id", "lang", "text"], status="done")
    return [
        EvalQuery(r["caption_id"], r["text"], r["lang"], frozenset({r["photo_id"]}), "captions")
        for r in rows
        if r["text"]
    ]


def similar_queries(store: Store) -> list[EvalQuery]:
    """Leave-one-out photo → photo: each photo of a category (folder) with others, the others relevant."""
    members: dict[str, set[str]] = {}
    for photo_id, category in categories(store).items():
        members.setdefault(category, set()).add(photo_id)
    queries = []
    for category, photos in sorted(members.items()):
        if len(photos) < 2:
            continue
        for photo_id in sorted(photos):
            queries.append(
                EvalQuery(
                    f"similar:{photo_id}",
                    f"photo like {photo_id} ({category})",
                    "-",
                    frozenset(photos - {photo_id}),
                    "similar",
                    photo=photo_id,
                )
            )
    return queries


def categories(store: Store) -> dict[str, str]:
    """Each photo's category: the name of the folder holding its first file."""
    result: dict[str, str] = {}
    for path, row in sorted(store.files().items()):
        result.setdefault(row.photo_id, os.path.basename(os.path.dirname(path)))
    return result


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryFileError(f"{path}: cannot read: {exc}") from exc


def _resolve(keys: list[Any], find: Callable[[str], str | None], where: str) -> list[str]:
    found = []
    for key in keys:
        photo_id = find(str(key))
        if photo_id is None:
            raise QueryFileError(f"{where}: {key} is not a photo of this library")
        found.append(photo_id)
    return found
