"""Japanese and Latin tokenization for keyword search, with character offsets for highlights.

Japanese goes through SudachiPy: mode C keeps compounds whole (東京都渋谷区) and their mode-A
sub-words (東京 / 都 / 渋谷 / 区) are added, so a search for a part finds the whole. Japanese
words are matched by Sudachi's normalized form (ｽﾏﾎ = スマホ); Latin words by their NFKC,
case-folded surface (Sudachi would turn "Station" into ステーション).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

# Parts of speech that carry no search meaning: particles, auxiliaries, punctuation, spaces.
_SKIPPED_POS = frozenset({"補助記号", "空白", "助詞", "助動詞"})
# Words that only support others: いる of 走っている, ある, しまう, ない (verbs and adjectives that
# Sudachi files as 非自立可能), pronouns (これ, 私), suffixes (たち) and formal nouns (こと, もの).
# Indexed like any word, but a query's keyword hit never rests on them alone (text.query).
_FUNCTION_POS = frozenset({("動詞", "非自立可能"), ("形容詞", "非自立可能"), ("代名詞", "*"), ("接尾辞", "名詞的")})
_FORMAL_NOUNS = frozenset({"こと", "事", "もの", "物", "ところ", "所", "ため", "為", "よう", "様", "わけ", "訳"})
JAPANESE = re.compile(r"[\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_WORDLIKE = re.compile(r"\w", re.UNICODE)
# Sudachi refuses inputs over 49,149 bytes; stay well below in UTF-8 (≤ 3 bytes a character).
_MAX_CHUNK_CHARS = 8000

_local = threading.local()


@dataclass(frozen=True)
class Token:
    """One searchable word: its normalized term and where it stands in the original text."""

    term: str
    start: int
    end: int
    sub: bool = False  # a sub-word of a compound: searchable, but not part of the word sequence
    function: bool = False  # a Japanese word that only supports others (いる, こと, これ): see _FUNCTION_POS


def japanese_tokenizer():  # type: ignore[no-untyped-def]
    """This thread's Sudachi tokenizer. A tokenizer is not thread-safe but costs 0.01 ms to make
    from the one dictionary the process shares (which costs 50 ms: web servers retire idle worker
    threads, and each new one used to load its own)."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        _local.split_a = SplitMode.A
        tokenizer = _local.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tokenizer


_shared: list[object] = []  # the process's Sudachi dictionary, once loaded
_loading = threading.Lock()


def _dictionary():  # type: ignore[no-untyped-def]
    """The process's Sudachi dictionary, loaded by the first thread that needs it."""
    with _loading:
        if not _shared:
            from sudachipy import Dictionary

            _shared.append(Dictionary())
        return _shared[0]


def normalize_term(surface: str, normalized_form: str | None = None) -> str:
    """The form a word is indexed and matched by."""
    if normalized_form is not None and JAPANESE.search(surface):
        return unicodedata.normalize("NFKC", normalized_form).casefold()
    return unicodedata.normalize("NFKC", surface).casefold()


def tokenize(text: str) -> list[Token]:
    """Content words of `text` in order, each followed by its sub-words when it is a compound."""
    tokens: list[Token] = []
    for offset, chunk in _chunks(text):
        tokenizer = japanese_tokenizer()
        for morpheme in tokenizer.tokenize(chunk):
            if morpheme.part_of_speech()[0] in _SKIPPED_POS:
                continue
            surface = morpheme.surface()
            if not _WORDLIKE.search(surface):
                continue  # symbols Sudachi files under nouns (©, →)
            tokens.append(
                Token(
                    normalize_term(surface, morpheme.normalized_form()),
                    offset + morpheme.begin(),
                    offset + morpheme.end(),
                    function=_supports(morpheme),
                )
            )
            parts = morpheme.split(_local.split_a)
            if len(parts) > 1:
                for part in parts:
                    if part.part_of_speech()[0] in _SKIPPED_POS or not _WORDLIKE.search(part.surface()):
                        continue
                    tokens.append(
                        Token(
                            normalize_term(part.surface(), part.normalized_form()),
                            offset + part.begin(),
                            offset + part.end(),
                            sub=True,
                            function=_supports(part),
                        )
                    )
    return tokens


def _supports(morpheme) -> bool:  # type: ignore[no-untyped-def]
    """Whether a Sudachi morpheme only supports other words (see _FUNCTION_POS)."""
    pos = morpheme.part_of_speech()
    return (pos[0], pos[1]) in _FUNCTION_POS or (pos[0] == "名詞" and morpheme.surface() in _FORMAL_NOUNS)


@functools.lru_cache(maxsize=65536)
def search_form(term: str) -> str:
    """The form two terms are compared by in keyword search: English words by their Snowball stem
    ("dogs" and "dog", "running" and "runs" meet; "car" and "card" do not), other terms as they are.
    Stored text keeps its words; only search compares stems."""
    if len(term) < 3 or not term.isascii() or not term.isalpha():
        return term
    return _stemmer().stemWord(term)


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def word_sequence(text: str) -> list[Token]:
    """The words of `text` in reading order, compounds whole: what phrases are matched against."""
    return [token for token in tokenize(text) if not token.sub]


def terms(text: str) -> list[str]:
    """All searchable terms of `text` (words and sub-words), in order, with repeats."""
    return [token.term for token in tokenize(text)]


def index_text(text: str) -> str:
    """`text` as space-separated terms: the form stored in full-text indexed columns."""
    return " ".join(terms(text))


def _chunks(text: str) -> list[tuple[int, str]]:
    # Split at line ends (and inside over-long lines) so each piece fits Sudachi's input limit.
    pieces: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        for start in range(0, len(line), _MAX_CHUNK_CHARS):
            piece = line[start : start + _MAX_CHUNK_CHARS]
            if piece.strip():
                pieces.append((offset + start, piece))
        offset += len(line)
    return pieces


def place_words(text: str) -> list[tuple[str, int, int]]:
    """Words Sudachi's dictionary knows as place names (名詞・固有名詞・地名), with their offsets."""
    found: list[tuple[str, int, int]] = []
    for offset, chunk in _chunks(text):
        for morpheme in japanese_tokenizer().tokenize(chunk):
            pos = morpheme.part_of_speech()
            if pos[1] == "固有名詞" and pos[2] == "地名" and JAPANESE.search(morpheme.surface()):
                found.append((morpheme.surface(), offset + morpheme.begin(), offset + morpheme.end()))
    return found
