"""Alt text: a short description of a photo for people who cannot see it, from what shashin knows.

The brief caption in the reader's language (else another language), without "An image of…"
preambles, cut at a word boundary to about 125 characters (what screen-reader guidance aims
for); without a caption, the text read in the photo; else what the built-in labels model says it
shows, when it is fairly sure ("Possibly a Leonberger (dog)"); else the file name.
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


SURE_LABEL = 0.3  # a label at least this probable may describe a photo that has nothing better


def alt_text(
    captions: Sequence[dict[str, Any]],
    ocr_text: str | None,
    file_name: str,
    lang: str = "en",
    labels: Sequence[dict[str, Any]] = (),
) -> str:
    """The alt text for one photo (`captions`: rows with lang, prompt_set, status, text, source;
    `labels`: the labels channel's rows, en, ja and score)."""
    usable = [c for c in captions if c.get("status") == "done" and c.get("text")]
    # A person's words first, then the brief caption, in the reader's language first.
    usable.sort(key=lambda c: (c.get("lang") != lang, c.get("source") != "human", c.get("prompt_set") != "brief"))
    if usable:
        return shorten(_PREAMBLE.sub("", usable[0]["text"].strip()))
    if ocr_text and ocr_text.strip():
        words = " / ".join(line.strip() for line in ocr_text.splitlines() if line.strip())
        return shorten(("写真の文字: " if lang == "ja" else "Text in the photo: ") + words)
    return _labelled(labels, lang) or file_name


def _labelled(labels: Sequence[dict[str, Any]], lang: str) -> str | None:
    """The most probable label in words, when it is probable enough: "Possibly a Leonberger (dog)",
    「写っているもの（推定）: 犬」."""
    best = max(labels, key=lambda label: float(label.get("score") or 0), default=None)
    if best is None or float(best.get("score") or 0) < SURE_LABEL:
        return None
    name, kinds = label_parts(str(best["en"]))
    kind = kinds[0] if kinds else ""
    if lang == "ja":
        return f"写っているもの（推定）: {str(best.get('ja') or '').split('・')[0] or name}"
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"Possibly {article} {name}" + (f" ({kind})" if kind and kind.lower() not in name.lower() else "")


def label_text(name: str, kinds: Sequence[str]) -> str:
    """How a label is stored with what it is a kind of, closest first: "Leonberger (dog, animal)"
    (channels.labels writes it; alt text and the "shows" facet read it back with label_parts)."""
    return f"{name} ({', '.join(kinds)})" if kinds else name


def label_parts(text: str) -> tuple[str, list[str]]:
    """A label_text back into its name and kinds."""
    name, _, kinds = text.partition(" (")
    return name, [kind.strip() for kind in kinds.rstrip(")").split(",") if kind.strip()]


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """`text` with an upper-case start, cut at a word boundary to `limit` characters ("…" added)."""
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(",;:、。 ") + "…"
