"""Which language a short text is written in, as far as search needs to know."""

from __future__ import annotations

import re

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def guess_language(text: str) -> str:
    """ja when the text is written in Japanese script, else en."""
    return "ja" if JAPANESE.search(text) else "en"
