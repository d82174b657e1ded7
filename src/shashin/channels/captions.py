"""Caption channels: the words a person would use, written by a vision-language model (or a person).

`caption` ranks by keywords (the same Sudachi BM25 as OCR); `caption_vector` by meaning, with a
multilingual e5 model, so a Japanese query finds an English caption. Failed captions are never
searched: only rows with status done are indexed.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from shashin.channels.base import Channel, ChannelEvidence, ChannelQuery, DerivedChannel, Highlight, Hit, ResultPage
from shashin.channels.keywords import best_per_photo, highlight, in_english, rank_photos_by_documents
from shashin.channels.recent import RecentQueries
from shashin.config import Settings
from shashin.models.text_embed import TextEmbedder
from shashin.progress import Progress
from shashin.store import Store
from shashin.text.chunk import chunk_text


def caption_field(row: dict[str, Any]) -> str:
    """How a caption is labelled in explanations: "caption (en)", "detailed caption (ja)"."""
    kind = "caption" if row["prompt_set"] == "brief" else f"{row['prompt_set']} caption"
    return f"{kind} ({row['lang']})"


class CaptionChannel(Channel):
    """Keyword search over captions."""

    name: ClassVar[str] = "caption"
    description: ClassVar[str] = "captions, by keyword"
    matches_words: ClassVar[bool] = True

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        def search(terms, n, require_all):  # type: ignore[no-untyped-def]
            return store.search_captions(terms, limit=n, require_all=require_all, within=query.within)

        def texts(caption_ids: list[str], owners: dict[str, str]) -> dict[str, str]:
            photos = store.captions_for({owners[cid] for cid in caption_ids}, from_memory=True)
            return {row["caption_id"]: row["text"] for rows in photos.values() for row in rows}

        hits = rank_photos_by_documents(query.keywords, search, texts, limit)
        english = in_english(query)
        if english is None:
            return hits
        # A Japanese query also asks English captions by the words JMdict gives for its own; a
        # photo keeps its better hit.
        return best_per_photo([*hits, *rank_photos_by_documents(english, search, texts, limit)], limit)

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        found: dict[str, list[Highlight]] = {}
        english = in_english(query)
        for photo_id, rows in store.captions_for(page.photo_ids, from_memory=True).items():
            for row in sorted(rows, key=lambda r: (r["prompt_set"], r["lang"])):
                if row["status"] != "done":
                    continue
                match = highlight(self.name, caption_field(row), row["text"], query.keywords)
                if match is None and english is not None:
                    match = highlight(self.name, caption_field(row) + ", by its English words", row["text"], english)
                if match:
                    found.setdefault(photo_id, []).append(match)
        return found


class CaptionVectorChannel(DerivedChannel, Channel):
    """Caption meaning: e5 vectors of caption chunks, searched with the query's vector."""

    name: ClassVar[str] = "caption_vector"
    description: ClassVar[str] = "captions, by meaning (multilingual)"

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        from shashin.models.text_models import text_embedder

        return cls(text_embedder(settings.captions.text_model))

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder
        self._recent = RecentQueries()

    def version(self) -> str:
        return f"{self.embedder.identity()}; passage+query"

    def evidence(self) -> ChannelEvidence:
        return ChannelEvidence("meaning", self.embedder.identity())

    def embed_captions(self, texts: list[str]) -> np.ndarray:
        """A caption read both ways e5 reads text — as a passage and as a query — averaged: a
        caption is searched by other descriptions (a symmetric task, for which e5 reads both sides
        as queries) as much as by keywords. Measured on coco-cc76 and a second COCO set: caption
        MRR +0.036 and +0.018 over passage vectors alone (docs/benchmarks.md, search quality)."""
        passages = self.embedder.embed_passages(texts)
        queries = self.embedder.embed_queries(texts)
        both = passages + queries
        return (both / np.maximum(np.linalg.norm(both, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    # ------------------------------------------------------------------ keeping vectors current

    def refresh(self, store: Store, progress: Progress | None = None) -> int:
        """Embed done captions that have no vectors from this model yet; drop vectors of failed ones."""
        version = self.version()
        chunks = store.caption_chunk_versions()
        captions = store.captions(["caption_id", "photo_id", "text", "status", "version"])
        stale = [
            c for c in captions if c["status"] == "done" and chunks.get(c["caption_id"]) != (c["version"], version)
        ]
        gone = [c["caption_id"] for c in captions if c["status"] != "done" and c["caption_id"] in chunks]
        if not stale and not gone:
            return 0
        if stale:
            self.embedder.load()
        rows: list[dict[str, Any]] = []
        pieces = [
            (c, i, text) for c in stale for i, text in enumerate(chunk_text(c["text"], self.embedder.max_chunk_chars))
        ]
        vectors = self.embed_captions([text for _, _, text in pieces]) if pieces else np.zeros((0, 0), np.float32)
        if pieces:
            store.ensure_caption_chunks(vectors.shape[1])
        for (caption, number, text), vector in zip(pieces, vectors):
            rows.append(
                {
                    "chunk_id": f"{caption['caption_id']}#{number}",
                    "caption_id": caption["caption_id"],
                    "photo_id": caption["photo_id"],
                    "caption_version": caption["version"],
                    "version": version,
                    "text": text,
                    "vector": vector.tolist(),
                }
            )
        if pieces or gone:
            store.replace_caption_chunks([c["caption_id"] for c in stale] + gone, rows)
        return len(stale)

    def progress(self, store: Store) -> tuple[int, int]:
        """(done captions with current vectors from this model, done captions still without them)."""
        version = self.version()
        chunks = store.caption_chunk_versions()
        captions = store.captions(["caption_id", "version"], status="done")
        embedded = sum(1 for c in captions if chunks.get(c["caption_id"]) == (c["version"], version))
        return embedded, len(captions) - embedded

    # ------------------------------------------------------------------ search

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        text = query.text.replace('"', " ").strip()
        if not any(ch.isalnum() for ch in text) or not store.count_caption_vectors(self.version()):
            return []
        # ModelUnavailable: the engine notes it and goes on
        vector = self._recent.vector(self.version(), text, self.embedder.embed_query)
        # Each photo by its nearest chunk (a long caption has several), among the 4 × limit nearest.
        chunks = store.search_caption_chunks(vector, limit=limit, version=self.version(), within=query.within)
        query.found[self.name] = {photo_id: chunk_id for chunk_id, photo_id, _ in chunks}  # for highlights()
        return [Hit(photo_id, score) for _, photo_id, score in chunks]

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        matched: dict[str, str] = query.found.get(self.name, {})
        wanted = {matched[pid]: pid for pid in page.photo_ids if pid in matched}
        chunks = store.caption_chunks(wanted)
        captions = {
            row["caption_id"]: row
            for rows in store.captions_for(set(wanted.values()), from_memory=True).values()
            for row in rows
        }
        found: dict[str, list[Highlight]] = {}
        for chunk_id, photo_id in wanted.items():
            chunk = chunks.get(chunk_id)
            caption = captions.get(chunk["caption_id"]) if chunk else None
            if chunk and caption:
                # A match by meaning: the closest passage, with no words to mark.
                found[photo_id] = [
                    Highlight(self.name, caption_field(caption) + ", closest in meaning", chunk["text"], ())
                ]
        return found
