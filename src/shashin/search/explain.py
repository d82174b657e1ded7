"""Explanations a person can read: highlighted text trimmed to the part that matched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shashin.channels.base import Highlight


@dataclass(frozen=True)
class Snippet:
    """A highlight cut to at most `width` characters around its first match, on one line."""

    channel: str
    field: str
    text: str
    spans: tuple[tuple[int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "field": self.field, "text": self.text, "spans": [list(s) for s in self.spans]}


def snippet(highlight: Highlight, width: int = 160) -> Snippet:
    """The part of a highlight's text around its matches, "…" where cut, lines joined by " / "."""
    text, spans = highlight.text, highlight.spans
    if len(text) > width and spans:
        start = max(0, min(spans[0][0] - width // 4, len(text) - width))
        end = start + width
        prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
        shift = len(prefix) - start
        spans = tuple((max(a, start) + shift, min(b, end) + shift) for a, b in spans if a < end and b > start)
        text = prefix + text[start:end] + suffix

    def moved(position: int) -> int:  # each "\n" (1 character) becomes " / " (3)
        return position + 2 * text.count("\n", 0, position)

    spans = tuple((moved(a), moved(b)) for a, b in spans)
    return Snippet(highlight.channel, highlight.field, text.replace("\n", " / "), spans)
