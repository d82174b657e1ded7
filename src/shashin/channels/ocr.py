"""OCR channel: the text in a photo (signs, slides, shirts), read at index time, searched by keyword."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from shashin.channels.base import Channel, ChannelQuery, Highlight, Hit, IndexedChannel, ResultPage
from shashin.channels.keywords import highlight, rank_by_keywords
from shashin.config import OcrSettings, Settings
from shashin.media import DecodedPhoto, MaxSide
from shashin.models.ocr_rapid import RapidOcr
from shashin.store import Store
from shashin.text import fuzzy
from shashin.text.readable import readable_text
from shashin.text.tokenize import index_text

_CANDIDATES = 200  # photos sharing pieces of the query's words, checked for a tolerant match
_SHARED_PIECES = 0.25  # ... holding at least this share of the pieces (one misread letter breaks at most three)
_TOLERANT_QUALITY = 0.5  # a tolerant match counts half an exact one in fusion, and never as exact

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

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.ocr)

    def __init__(self, settings: OcrSettings) -> None:
        self._model = RapidOcr(
            model_dir=settings.model_dir,
            max_side=settings.max_side,
            min_confidence=settings.min_confidence,
            second_reads=settings.second_reads,
            tiles=settings.tiles,
        )
        self.tolerant = settings.tolerant

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

    @classmethod
    def read_texts(
        cls, store: Store, photo_ids: Sequence[str], *, lines: bool = False, from_memory: bool = False
    ) -> dict[str, dict[str, Any]]:
        """The text read from each photo that has been read: {"text"} (and {"lines"} when asked)."""
        columns = ["text", "status", *(["lines"] if lines else [])]
        rows = store.channel_rows(cls.name, list(photo_ids), columns, from_memory=from_memory)
        return {
            photo_id: {"text": row.get("text"), **({"lines": list(row.get("lines") or [])} if lines else {})}
            for photo_id, row in rows.items()
            if row.get("status") == "done"
        }

    @classmethod
    def readable_texts(cls, store: Store, photo_ids: Sequence[str], *, from_memory: bool = False) -> dict[str, str]:
        """The text of each read photo as alt text may say it (text.readable: dictionary words, and
        others only when read with high confidence); photos left with nothing are not listed."""
        read = cls.read_texts(store, photo_ids, lines=True, from_memory=from_memory)
        found = {photo_id: readable_text(row["lines"]) for photo_id, row in read.items()}
        return {photo_id: text for photo_id, text in found.items() if text}

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        exact = self._exact(query, store, limit)
        singles, together = self._units(query)
        if (not singles and together is None) or len(exact) >= limit:
            return exact
        return exact + self._tolerant(
            singles, together, store, query, {hit.photo_id for hit in exact}, limit - len(exact)
        )

    def holding(self, query: ChannelQuery, store: Store, limit: int) -> set[str]:
        return {hit.photo_id for hit in self._exact(query, store, limit) if hit.exact}  # misreads are no proof

    def _exact(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        """Photos whose text holds the query's words as written (BM25; quoted phrases in order)."""

        def search_terms(terms, n, require_all):  # type: ignore[no-untyped-def]
            return store.search_channel(
                self.name, "terms", terms, limit=n, require_all=require_all, within=query.within
            )

        def texts(ids: list[str]) -> dict[str, str]:
            return {
                pid: row["text"] for pid, row in store.channel_rows(self.name, ids, ["text"], from_memory=True).items()
            }

        return rank_by_keywords(query.keywords, search_terms, texts, limit)

    def _units(self, query: ChannelQuery) -> tuple[list[fuzzy.Unit], fuzzy.Unit | None]:
        """What tolerant matching looks for: the query's Latin words (quoted phrases ask for exactness)."""
        if not self.tolerant or query.keywords.phrases:
            return [], None
        return fuzzy.query_units([term for term in query.keywords.terms if term.isascii()])

    def _tolerant(
        self,
        singles: list[fuzzy.Unit],
        together: fuzzy.Unit | None,
        store: Store,
        query: ChannelQuery,
        found: set[str],
        limit: int,
    ) -> list[Hit]:
        """Photos whose text holds the query's words as OCR misread, split or joined them (text.fuzzy),
        ranked after every exact hit by the share of words found (all of them when found run
        together), a misread letter costing a little; quality half an exact match's."""
        units = singles + ([together] if together else [])
        grams = fuzzy.grams("\n".join(unit.folded for unit in units)).split()
        candidates = [
            pid
            for pid, _, share in store.search_channel_grams(
                self.name, "text", grams, limit=_CANDIDATES, within=query.within
            )
            if pid not in found and share >= _SHARED_PIECES
        ]
        texts = store.channel_rows(self.name, candidates, ["text"], from_memory=True)
        ranked: list[tuple[float, int, Hit]] = []
        for order, photo_id in enumerate(candidates):
            text = texts.get(photo_id, {}).get("text") or ""
            if not any(fuzzy.found_in(unit, text) for unit in units):  # most candidates end here, cheaply
                continue
            words = [fuzzy.match(unit, text) for unit in singles]
            joined = fuzzy.match(together, text) if together else None
            matched = [m for m in [*words, joined] if m]
            if not matched:
                continue
            share = 1.0 if joined else sum(m is not None for m in words) / max(len(singles), 1)
            score = share * (1.0 if all(m.rule == "partial" for m in matched) else 0.9)
            ranked.append((score, order, Hit(photo_id, score, False, _TOLERANT_QUALITY * share)))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return [hit for _, _, hit in ranked[:limit]]

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        rows = store.channel_rows(self.name, page.photo_ids, ["text"], from_memory=True)
        found: dict[str, list[Highlight]] = {}
        singles, together = self._units(query)
        units = ([together] if together else []) + singles
        for photo_id, row in rows.items():
            match = highlight(self.name, "text in photo", row["text"], query.keywords)
            if match:
                found[photo_id] = [match]
                continue
            text = row["text"] or ""
            for tolerant in (m for m in (fuzzy.match(unit, text) for unit in units if fuzzy.found_in(unit, text)) if m):
                field = f"text in photo, {tolerant.rule}: {row['text'][tolerant.start : tolerant.end]}"
                found[photo_id] = [Highlight(self.name, field, row["text"], ((tolerant.start, tolerant.end),))]
                break
        return found
