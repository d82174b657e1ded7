"""Alt text: a short description of a photo for people who cannot see it, from what shashin knows.

The brief caption in the reader's language (else another language), without "An image of…"
preambles, cut at a word boundary to about 125 characters (what screen-reader guidance aims
for); without a caption, the text read in the photo; else the file name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MAX_CHARS = 125
_PREAMBLE = re.compile(
    r"^(?:(?:this|the)\s+(?:image|photo|picture|photograph)\s+(?:shows|depicts|features)\s+|"
    r"(?:an?\s+)?(?:image|photo|picture|photograph)\s+(?:of|showing)\s+|この(?:画像|写真)(?:は|には)、?)",
    re.I,
)


def alt_text(captions: Sequence[dict[str, Any]], ocr_text: str | None, file_name: str, lang: str = "en") -> str:
    """The alt text for one photo (`captions`: rows with lang, prompt_set, status, text, source)."""
    usable = [c for c in captions if c.get("status") == "done" and c.get("text")]
    # A person's words first, then the brief caption, in the reader's language first.
    usable.sort(key=lambda c: (c.get("lang") != lang, c.get("source") != "human", c.get("prompt_set") != "brief"))
    if usable:
        return shorten(_PREAMBLE.sub("", usable[0]["text"].strip()))
    if ocr_text and ocr_text.strip():
        words = " / ".join(line.strip() for line in ocr_text.splitlines() if line.strip())
        return shorten(("写真の文字: " if lang == "ja" else "Text in the photo: ") + words)
    return file_name


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """`text` with an upper-case start, cut at a word boundary to `limit` characters ("…" added)."""
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(",;:、。 ") + "…"
