"""Split text into chunks a text-embedding model reads whole, at sentence boundaries when it can."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*\s*|\n+")


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Pieces of `text`, each at most `max_chars` long, covering all of it (nothing is dropped)."""
    text = text.strip()
    if len(text) <= max_chars:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for sentence in (m.group(0) for m in _SENTENCE.finditer(text)):
        for part in _split_long(sentence, max_chars):
            if current and len(current) + len(part) > max_chars:
                pieces.append(current.strip())
                current = ""
            current += part
    if current.strip():
        pieces.append(current.strip())
    return [p for p in pieces if p]


def _split_long(sentence: str, max_chars: int) -> list[str]:
    # A sentence longer than a chunk: cut at spaces, or anywhere for scripts without spaces.
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars)
        cut = cut if cut > max_chars // 2 else max_chars
        parts.append(sentence[:cut])
        sentence = sentence[cut:]
    return [*parts, sentence] if sentence else parts
