"""Image channel: what the photo shows, as a SigLIP2/CLIP vector; text→image and photo→photo search.

Each photo also gets zero-shot tags (see tags.py), computed from its vector and stored beside it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from shashin.channels.base import (
    Channel,
    ChannelEvidence,
    ChannelQuery,
    Hit,
    IndexedChannel,
    PhotoFailure,
    PhotoVectors,
    batch_inputs,
)
from shashin.channels.recent import RecentQueries
from shashin.channels.tags import PROMPT, load_vocabulary, stored_tags, tags_payload, top_tags, vocabulary_identity
from shashin.config import ImageSettings, Settings
from shashin.media import DecodedPhoto
from shashin.models.image_text import ImageTextModel, ModelPixels
from shashin.store import Store

_TAG = pa.struct([("en", pa.string()), ("ja", pa.string()), ("score", pa.float32())])


class ImageChannel(PhotoVectors, IndexedChannel, Channel):
    """SigLIP2 (or any SigLIP/CLIP) image vectors, searched by text or by photo, plus zero-shot tags."""

    name: ClassVar[str] = "image"
    description: ClassVar[str] = "what the photo shows (image vectors)"
    fts_columns: ClassVar[tuple[str, ...]] = ("tag_terms",)
    gpu_model: ClassVar[bool] = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.image)

    def __init__(self, settings: ImageSettings) -> None:
        self.settings = settings
        self.model = ImageTextModel(
            settings.model,
            revision=settings.revision,
            device=settings.device,
            dtype=settings.dtype,
            batch_size=settings.batch_size,
        )
        self.vocabulary = load_vocabulary(settings.tags_vocabulary)
        self._tag_vectors: np.ndarray | None = None
        self._recent = RecentQueries()

    @classmethod
    def tags_of(cls, store: Store, photo_id: str) -> list[dict[str, Any]]:
        """The zero-shot tags stored for one photo ([] when it has none yet)."""
        return stored_tags(store, cls.name, photo_id)

    # ------------------------------------------------------------------ index side

    def version(self) -> str:
        return self.model.identity()

    def evidence(self) -> ChannelEvidence:
        known = getattr(self, "_evidence", None)  # a local model's identity reads its folder: once
        if known is None:
            known = self._evidence = ChannelEvidence("meaning", self.model.identity())
        return known

    def tags_version(self) -> str:
        """What determines the tags: the vectors' version and the vocabulary settings."""
        words = vocabulary_identity(self.vocabulary, self.settings.tags_per_photo, self.settings.tags_min_score)
        return f"{words}; {self.version()}"

    def load(self) -> None:
        if self._tag_vectors is None:
            self.model.load()
            self._tag_vectors = self.model.embed_texts([PROMPT.format(en) for en, _ in self.vocabulary])

    def rendition(self) -> ModelPixels:
        return self.model.rendition()

    def payload_fields(self) -> list[pa.Field]:
        assert self._tag_vectors is not None, "load() first"
        dimensions = self._tag_vectors.shape[1]
        return [
            pa.field("vector", pa.list_(pa.float32(), dimensions)),
            pa.field("tags", pa.list_(_TAG)),
            pa.field("tag_terms", pa.string()),
            pa.field("tags_version", pa.string()),
        ]

    def batch_size(self) -> int:
        # On a GPU, several model batches per call let the next one be assembled while one runs.
        return self.model.batch_size * (4 if self.uses_accelerator() else 1)

    def uses_accelerator(self) -> bool:
        return self.model.loaded and self.model.device != "cpu"

    def process_batch(self, photos: list[DecodedPhoto]) -> list[dict[str, Any] | PhotoFailure]:
        results, ready = batch_inputs(self.name, photos)
        if ready:
            vectors = self.model.embed_prepared([rendition for _, rendition in ready])
            for (index, _), payload in zip(ready, self._payloads(vectors)):
                results[index] = payload
        return results

    def _payloads(self, vectors: np.ndarray) -> list[dict[str, Any]]:
        assert self._tag_vectors is not None
        probabilities = self.model.probabilities(vectors @ self._tag_vectors.T)
        tags = top_tags(probabilities, self.vocabulary, self.settings.tags_per_photo, self.settings.tags_min_score)
        version = self.tags_version()
        return [
            {"vector": vector.tolist(), **tags_payload(photo_tags), "tags_version": version}
            for vector, photo_tags in zip(vectors, tags)
        ]

    def refresh(self, store: Store) -> int:
        """Re-tag photos whose tags came from another vocabulary, from their stored vectors."""
        version, tags_version = self.version(), self.tags_version()
        stale = store.channel_select(
            self.name, ["photo_id", "vector"], version=version, stale=("tags_version", tags_version)
        )
        if not stale:
            return 0
        self.load()
        vectors = np.array([row["vector"] for row in stale], dtype=np.float32)
        rows = [
            {"photo_id": row["photo_id"], "version": version, "status": "done", "error": None, **payload}
            for row, payload in zip(stale, self._payloads(vectors))
        ]
        store.put_channel_rows(self.name, rows)
        return len(rows)

    # ------------------------------------------------------------------ search side

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        text = query.text.replace('"', " ").strip()
        if not any(ch.isalnum() for ch in text) or not self.has_vectors(store):
            return []
        vector = self._recent.vector(self.version(), text, self._embed_query)
        return self.search_vector(store, vector, limit, within=query.within)

    def _embed_query(self, text: str) -> np.ndarray:
        self.load()
        return self.model.embed_texts([text])[0]

    def embed_renditions(self, renditions: list[Any]) -> np.ndarray:
        return self.model.embed_prepared(renditions)
