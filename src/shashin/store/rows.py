"""Rows as the tables hold them, built in one place for every writer (caption runs, imports, people)."""

from __future__ import annotations

import hashlib
from typing import Any

from shashin.text.tokenize import index_text


def caption_id(photo_id: str, prompt_set: str, lang: str) -> str:
    """The key of a photo's one current caption of a kind (prompt set and language)."""
    return f"{photo_id}:{prompt_set}:{lang}"


def caption_photo(caption_id: str) -> str:
    """The photo id a caption id (see caption_id) belongs to."""
    return caption_id.split(":", 1)[0]


def caption_row(
    photo_id: str,
    prompt_set: str,
    lang: str,
    *,
    text: str,
    raw: str,
    source: str,
    backend: str,
    model: str | None,
    prompt: str | None,
    params: str | None,
    version: str,
    problem: str | None = None,
) -> dict[str, Any]:
    """A captions-table row; with a `problem` it records a failure (no text, nothing to search)."""
    return {
        "caption_id": caption_id(photo_id, prompt_set, lang),
        "photo_id": photo_id,
        "prompt_set": prompt_set,
        "lang": lang,
        "text": "" if problem else text,
        "raw": raw,
        "terms": "" if problem else index_text(text),
        "status": "failed" if problem else "done",
        "error": problem,
        "source": source,
        "backend": backend,
        "model": model,
        "prompt": prompt,
        "params": params,
        "version": version,
    }


def human_caption_version(text: str) -> str:
    """The version of a caption a person wrote: a digest of its text (a changed text is a new caption)."""
    return f"human:{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}"


def human_caption_row(photo_id: str, prompt_set: str, lang: str, text: str) -> dict[str, Any]:
    """A captions-table row for a caption a person wrote (source "human", versioned by its text)."""
    return caption_row(
        photo_id,
        prompt_set,
        lang,
        text=text,
        raw=text,
        source="human",
        backend="human",
        model=None,
        prompt=None,
        params=None,
        version=human_caption_version(text),
    )


def tag_id(photo_id: str, word: str) -> str:
    """The key of a person's decision about one word on one photo (case does not make another word)."""
    return f"{photo_id}:{' '.join(word.casefold().split())}"


def tag_row(photo_id: str, word: str, state: str) -> dict[str, Any]:
    """A person's tag: `state` added (the word describes the photo) or removed (a suggested tag does not)."""
    return {"tag_id": tag_id(photo_id, word), "photo_id": photo_id, "word": word, "state": state}
