"""OCR channel: the text in a photo (signs, slides, shirts), read at index time, searched by keyword."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from shashin.channels.base import Channel, ChannelQuery, Highlight, Hit, IndexedChannel, ResultPage
from shashin.channels.keywords import highlight, rank_by_keywords
from shashin.config import OcrSettings
from shashin.media import DecodedPhoto, MaxSide
from shashin.models.ocr_rapid import RapidOcr
from shashin.store import Store
from shashin.text.tokenize import index_text

_LINE = pa.struct(
    [
        ("text", pa.string()),
        ("confidence", pa.float32()),
        ("box", pa.list_(pa.float32(), 8)),  # 4 corners, x/y as fractions of width/height
    ]
)


class OcrChannel(IndexedChannel, Channel):
    """Text read from the photo by PP-OCR; keyword-searchable in Japanese and English."""

    name: ClassVar[str] = "ocr"
    description: ClassVar[str] = "text in the photo (OCR)"
    matches_words: ClassVar[bool] = True
    fts_columns: ClassVar[tuple[str, ...]] = ("terms",)

    def __init__(self, settings: OcrSettings) -> None:
        self._model = RapidOcr(
            model_dir=settings.model_dir, max_side=settings.max_side, min_confidence=settings.min_confidence
        )

    def version(self) -> str:
        return self._model.identity()

    def load(self) -> None:
        self._model.load()

    def rendition(self) -> MaxSide:
        return MaxSide(self._model.max_side)

    def payload_fields(self) -> list[pa.Field]:
        return [
            pa.field("text", pa.string()),  # lines joined by newlines
            pa.field("lines", pa.list_(_LINE)),
            pa.field("terms", pa.string()),  # `text` tokenized for BM25
        ]

    def process(self, photo: DecodedPhoto, rendition: np.ndarray) -> dict[str, Any]:
        lines = self._model.read(rendition)
        text = "\n".join(line.text for line in lines)
        return {
            "text": text,
            "lines": [{"text": line.text, "confidence": line.confidence, "box": list(line.box)} for line in lines],
            "terms": index_text(text),
        }

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        def search_terms(terms, n, require_all):  # type: ignore[no-untyped-def]
            return store.search_channel(self.name, "terms", terms, limit=n, require_all=require_all, within=query.within)

        def texts(ids: list[str]) -> dict[str, str]:
            return {pid: row["text"] for pid, row in store.channel_rows(self.name, ids, ["text"], from_memory=True).items()}

        return rank_by_keywords(query.keywords, search_terms, texts, limit)

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        rows = store.channel_rows(self.name, page.photo_ids, ["text"], from_memory=True)
        found: dict[str, list[Highlight]] = {}
        for photo_id, row in rows.items():
            match = highlight(self.name, "text in photo", row["text"], query.keywords)
            if match:
                found[photo_id] = [match]
        return found
