"""English words for the Japanese ones of a query, from JMdict, so that 「犬が走っている」 finds a
caption that says "a dog running" by its words, not only by its meaning.

The word list is the Electronic Dictionary Research and Development Group's JMdict (CC BY-SA 4.0),
shipped by the `jamdict-data` package and read through `jamdict`; nothing is downloaded. Each
content word (Sudachi, compounds whole: 連節バス, ノートパソコン) gives the first words of its first
two senses ("dog", "articulated bus", "laptop computer"); particles, auxiliaries and light verbs
(する, いる, ある, なる) give none. Without the package, queries simply get no English words.
Measured on 184 Japanese queries against English captions (docs/benchmarks.md, search quality): +0.03 MRR.
"""

from __future__ import annotations

import functools
import threading

from shashin.text.query import STOPWORDS
from shashin.text.tokenize import JAPANESE, japanese_tokenizer, terms

_SENSES = 2
_SKIPPED_POS = frozenset({"補助記号", "空白", "助詞", "助動詞", "接尾辞", "記号"})
_LIGHT_VERBS = frozenset({"する", "いる", "ある", "なる", "れる", "られる", "できる"})
_local = threading.local()


def english_words(text: str) -> tuple[str, ...]:
    """English search terms for the Japanese words of `text` (none when it has none)."""
    if not JAPANESE.search(text):
        return ()
    found: list[str] = []
    for morpheme in japanese_tokenizer().tokenize(text):
        pos = morpheme.part_of_speech()
        if pos[0] in _SKIPPED_POS or not JAPANESE.search(morpheme.surface()):
            continue
        if pos[0] == "動詞" and morpheme.dictionary_form() in _LIGHT_VERBS:
            continue
        forms = (morpheme.dictionary_form(), morpheme.normalized_form(), morpheme.surface())
        found.extend(next((words for form in dict.fromkeys(forms) if (words := _glosses(form))), ()))
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=20000)
def _glosses(word: str) -> tuple[str, ...]:
    dictionary = _dictionary()
    if dictionary is None:
        return ()
    try:
        result = dictionary.lookup(word, strict_lookup=True, lookup_chars=False)
    except Exception:
        return ()
    if not result.entries:
        return ()
    words: list[str] = []
    for sense in result.entries[0].senses[:_SENSES]:
        if sense.gloss:
            gloss = sense.gloss[0].text.split("(")[0].strip()  # "dog (Canis (lupus) familiaris)": dog
            words.extend(term for term in terms(gloss.removeprefix("to ")) if term not in STOPWORDS)
    return tuple(words)


def _dictionary():  # type: ignore[no-untyped-def]
    """This thread's JMdict (its SQLite connection may only be used by the thread that made it)."""
    if not hasattr(_local, "dictionary"):
        try:
            from jamdict import Jamdict

            dictionary = Jamdict(memory_mode=False)
            dictionary.lookup("犬", strict_lookup=True, lookup_chars=False)  # fails now if the data is missing
        except Exception:
            dictionary = None
        _local.dictionary = dictionary
    return _local.dictionary
