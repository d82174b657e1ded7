"""multilingual-e5 (or another e5 checkpoint) through sentence-transformers, by Hugging Face id or folder."""

from __future__ import annotations

from typing import Any

import numpy as np

from shashin.models.base import ModelUnavailable, loads_once
from shashin.models.hub import resolve_checkpoint
from shashin.models.text_embed import DEFAULT_TEXT_MODEL, TextEmbedder
from shashin.models.torch_runtime import require_torch


class SentenceTransformerE5(TextEmbedder):
    """An e5 checkpoint (by Hugging Face id or folder) through sentence-transformers."""

    def __init__(self, source: str = DEFAULT_TEXT_MODEL, device: str = "cpu") -> None:
        self.source = source
        self.device = device
        self._model: Any = None

    def identity(self) -> str:
        return f"sentence-transformers {self.source}"

    @loads_once
    def load(self) -> None:
        if self._model is not None:
            return
        require_torch("caption vectors with sentence-transformers", "image", also=("sentence_transformers",))
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
