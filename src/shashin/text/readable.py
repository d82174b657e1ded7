"""Which of the text OCR read in a photo is fit to say aloud: the words a dictionary knows, and
other words only when they were read with high confidence. Alt text reads this, so a portrait's
texture read as "MOOSK" never reaches a screen reader; search still reads every line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shashin.text.tokenize import japanese_tokenizer

SURE = 0.97  # a line read at least this confidently keeps the words no dictionary knows ("LITTER")
_SPOKEN_POS = frozenset(
    {"名詞", "動詞", "形容詞", "形状詞", "副詞", "連体詞", "接頭辞", "接尾辞", "助詞", "助動詞", "代名詞"}
)


def readable_text(lines: Iterable[Mapping[str, Any]]) -> str:
    """The lines (rows with "text" and "confidence") as alt text may say them, one per line:
    each keeps its known words in order (Sudachi's dictionary: Japanese, and English words such as
    station, CAUTION, Starbucks) and, when read at SURE or above, its unknown ones; a line left
    with nothing that says something (see _says_something) is dropped."""
    kept_lines = []
    for line in lines:
        text = str(line.get("text") or "").strip()
        if not text:
            continue
        sure = float(line.get("confidence") or 0.0) >= SURE
        kept = [
            morpheme.surface()
            for morpheme in japanese_tokenizer().tokenize(text)
            if morpheme.part_of_speech()[0] in _SPOKEN_POS and (sure or not morpheme.is_oov())
        ]
        if _says_something(kept):
            kept_lines.append(_joined(kept, text))
    return "\n".join(kept_lines)


def _joined(words: list[str], line: str) -> str:
    """The kept words in the line's order: a space where anything stood between two of them in
    the line (a space, or a word left out), none where they touched (Japanese)."""
    out, position = "", 0
    for word in words:
        at = line.find(word, position)
        if out and at > position:
            out += " "
        out += word
        position = at + len(word) if at >= 0 else position
    return out


def _says_something(words: list[str]) -> bool:
    """A word of three letters or more, or of two characters in Japanese or Chinese script."""
    return any(len(word) >= 3 or (len(word) >= 2 and not word.isascii()) for word in words)
