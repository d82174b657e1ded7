"""The form names and keywords are compared by, everywhere (filters, people, exports)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Unicode-normalized (NFKC), case-folded and single-spaced: "Ｋｅｎ  Tanaka" and "ken tanaka" meet."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
