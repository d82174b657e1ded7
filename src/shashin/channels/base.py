"""The Channel contract: what a photo gets at index time, and how a query ranks photos by it.

A channel is one reason a photo can match (text in it, its file name, its image vector).
Its search side (Channel) ranks photos for a query; its index side (IndexedChannel) computes a
payload per photo and keeps it, with the version that produced it, in the channel's table, so a
changed version redoes exactly that channel. Most channels have both sides; some only one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, Self

import pyarrow as pa

from shashin.media import DecodedPhoto, Rendition, RenditionError
from shashin.models.base import ModelUnavailable
from shashin.places import Place
from shashin.store import FileRow, PhotoSet, Store
from shashin.text.query import KeywordQuery, parse_keywords

if TYPE_CHECKING:
    from shashin.config import Settings
    from shashin.progress import Progress

__all__ = [
    "Channel",
    "ChannelEvidence",
    "ChannelQuery",
    "DerivedChannel",
    "Evidence",
    "Highlight",
    "Hit",
    "IndexedChannel",
    "ModelUnavailable",
    "PhotoFailure",
    "ResultPage",
]


@dataclass(frozen=True)
class ChannelQuery:
    """What each channel is asked: the text to search, its keyword form, and the photos a filter
    allows (None: all); a channel ranks only those, so filtering never costs recall."""

    text: str
    keywords: KeywordQuery
    within: PhotoSet | None = None
    places: tuple[Place, ...] = ()  # places the query names, for the place channel
    people: tuple[str, ...] = ()  # people the query or a filter names, for the people channel
    # What a channel's search found that its highlights will need (by channel name). It lives and
    # dies with this one search, so concurrent searches share no mutable state.
    found: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_text(
        cls, text: str, within: PhotoSet | None = None, places: tuple[Place, ...] = (), people: tuple[str, ...] = ()
    ) -> ChannelQuery:
        return cls(text=text, keywords=parse_keywords(text), within=within, places=places, people=people)


class Hit(NamedTuple):  # a NamedTuple: hundreds are made per query, and a tuple is 10× cheaper
    """A photo a channel found, with the channel's own score (higher is better); `exact` when a
    keyword channel found every word of the query (or each quoted phrase) in one of its texts;
    `quality` the share of the query it matched (1 for vector channels), which fusion weighs by."""

    photo_id: str
    score: float
    exact: bool = False
    quality: float = 1.0


@dataclass(frozen=True)
class Highlight:
    """Where a query matched in a photo's text: `spans` are character ranges of `text`."""

    channel: str
    field: str
    text: str
    spans: tuple[tuple[int, int], ...]


Evidence = Literal["words", "meaning", "support"]  # support: ranks, says nothing of a match (place)


@dataclass(frozen=True)
class ChannelEvidence:
    """What a channel's hits say of a match, for relevance (search.relevance): words it found, or
    a likeness in meaning on the scale of the model `scale` names ("" when no model's), or only
    support for a ranking (a place near the one named)."""

    kind: Evidence
    scale: str = ""


@dataclass(frozen=True)
class ResultPage:
    """The photos being shown, with their files and metadata read once for every channel."""

    photo_ids: list[str]
    files: dict[str, list[FileRow]]  # photo id -> its files, sorted by path
    photos: dict[str, dict[str, Any]]  # photo id -> its metadata row


@dataclass(frozen=True)
class PhotoFailure:
    """A channel could not process one photo; the reason is stored and shown by `status`."""

    reason: str


class Channel(ABC):
    """One ranking of photos for a query (the search side of a channel)."""

    name: ClassVar[str]
    description: ClassVar[str]
    matches_words: ClassVar[bool] = False  # ranks by the query's words (its exact matches are protected)
    # Its weight in score fusion unless configured: 1 for what a photo means (image, caption
    # vectors), less for the supporting evidence of words and places (see search.fuse).
    fusion_weight: ClassVar[float | None] = None  # None: 0.2 for keyword channels, else 1

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The channel as a library's settings configure it (the registry builds channels this way)."""
        return cls()

    def evidence(self) -> ChannelEvidence:
        """What its hits say of a match: words (keyword channels) or meaning, on no known scale
        unless a channel names its model's."""
        return ChannelEvidence("words" if self.matches_words else "meaning")

    @abstractmethod
    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        """Photos matching `query`, best first, at most `limit`; [] when it has no opinion."""

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        """Why each photo of the page matched, as highlighted text (empty when nothing to show)."""
        return {}

    def holding(self, query: ChannelQuery, store: Store, limit: int) -> set[str]:
        """The photos (of `query.within`, at most `limit`) in which this channel finds every word of
        the query, or each quoted phrase: what excluding those words removes. Word channels only;
        one whose search also ranks near misses (OCR's misread words) answers without them."""
        return {hit.photo_id for hit in self.search(query, store, limit) if hit.exact}


class IndexedChannel(ABC):
    """Per-photo work done when indexing (the index side of a channel), kept in the channel's table.

    Lifecycle in a run: version() for every photo's bookkeeping; load() only when there is
    work; then rendition() (computed by decode workers), payload_fields(), process_batch().
    """

    name: ClassVar[str]
    description: ClassVar[str]
    fts_columns: ClassVar[tuple[str, ...]] = ()  # payload columns with a full-text index
    gpu_model: ClassVar[bool] = False  # its model runs on a GPU where there is one (a cluster's GPU stage)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The channel as a library's settings configure it (the registry builds channels this way)."""
        return cls()

    @abstractmethod
    def version(self) -> str:
        """The model and parameters that define this channel's output; a change redoes it. Cheap."""

    @abstractmethod
    def load(self) -> None:
        """Prepare the model; raise ModelUnavailable with a fix-it message when it cannot."""

    @abstractmethod
    def rendition(self) -> Rendition:
        """What the decode workers must make of each photo for this channel."""

    @abstractmethod
    def payload_fields(self) -> list[pa.Field]:
        """Columns stored beside the common ones (may depend on the loaded model)."""

    def process(self, photo: DecodedPhoto, rendition: Any) -> dict[str, Any]:
        """The payload for one photo from its rendition; an exception marks only this photo failed."""
        raise NotImplementedError

    def process_batch(self, photos: list[DecodedPhoto]) -> list[dict[str, Any] | PhotoFailure]:
        """Payloads for a batch, in order; override to batch model calls."""
        results: list[dict[str, Any] | PhotoFailure] = []
        for photo in photos:
            rendition = photo.renditions.get(self.name)
            if isinstance(rendition, RenditionError):
                results.append(PhotoFailure(rendition.message))
                continue
            try:
                results.append(self.process(photo, rendition))
            except Exception as exc:  # one bad photo must not stop the run
                results.append(PhotoFailure(f"{type(exc).__name__}: {exc}"))
        return results

    def batch_size(self) -> int:
        """Photos this channel wants per call; commit batches are at least this large."""
        return 1

    def uses_accelerator(self) -> bool:
        """True when the loaded model runs on a GPU (more decode workers are then worth it)."""
        return False

    def prepare_store(self, store: Store) -> None:
        """Create (or rebuild, if its layout changed) this channel's table. Called after load()."""
        store.ensure_channel(self.name, self.payload_fields(), fts=self.fts_columns)

    def refresh(self, store: Store) -> int:
        """Recompute outputs derived from stored ones whose parameters changed; rows updated."""
        return 0


class PhotoVectors(ABC):
    """An indexed channel whose stored vectors say what photos look like: photo → photo search
    (`similar`, search by photo) reads them, from whichever such channel the library has vectors of."""

    name: ClassVar[str]

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def load(self) -> None: ...

    @abstractmethod
    def rendition(self) -> Rendition: ...

    @abstractmethod
    def embed_renditions(self, renditions: list[Any]) -> Any:
        """Vectors (N × d, L2-normalized) of photos rendered by rendition()."""

    def has_vectors(self, store: Store) -> bool:
        """True when some photo has a vector from the current model (else searching is pointless)."""
        return store.count_vectors(self.name, "vector", self.version()) > 0

    def search_vector(self, store: Store, vector: Any, limit: int, *, within: PhotoSet | None = None) -> list[Hit]:
        """Photos by cosine similarity to `vector`, among vectors of the current model (and `within`)."""
        hits = store.search_vectors(self.name, "vector", vector, limit=limit, version=self.version(), within=within)
        return [Hit(pid, score) for pid, score in hits]

    def stored_vector(self, store: Store, photo_id: str) -> Any:
        """The photo's vector from the current model (float32), or None when it has none."""
        import numpy as np

        row = store.channel_rows(self.name, [photo_id], ["vector", "version", "status"]).get(photo_id)
        if row is None or row["status"] != "done" or row["version"] != self.version():
            return None
        return np.asarray(row["vector"], dtype=np.float32)

    def embed_photo(self, photo: DecodedPhoto) -> Any:
        """The vector of a photo decoded with this channel's rendition (for photos not in the library)."""
        rendition = photo.renditions.get(self.name)
        if rendition is None or isinstance(rendition, RenditionError):
            raise ModelUnavailable(f"could not prepare {photo.path} for the {self.name} model: {rendition}")
        return self.embed_renditions([rendition])[0]


def batch_inputs(
    channel: str, photos: list[DecodedPhoto]
) -> tuple[list[dict[str, Any] | PhotoFailure], list[tuple[int, Any]]]:
    """A batch's results with each failed rendition already in place, and the (position,
    rendition) of the photos left for one model call."""
    results: list[dict[str, Any] | PhotoFailure] = [PhotoFailure("not processed")] * len(photos)
    ready: list[tuple[int, Any]] = []
    for index, photo in enumerate(photos):
        rendition = photo.renditions.get(channel)
        if isinstance(rendition, RenditionError):
            results[index] = PhotoFailure(rendition.message)
        else:
            ready.append((index, rendition))
    return results, ready


class DerivedChannel(ABC):
    """Outputs computed from other stored outputs instead of pixels (caption vectors from
    captions); refreshed after every index, caption or import run."""

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def version(self) -> str:
        """The model and parameters that define its outputs; a change recomputes them."""

    @abstractmethod
    def refresh(self, store: Store, progress: Progress | None = None) -> int:
        """Compute what is missing or stale (telling `progress`, when given); returns the rows written."""

    @abstractmethod
    def progress(self, store: Store) -> tuple[int, int]:
        """(done, pending) for `status`."""

    def problems(self, store: Store) -> list[tuple[str, str]]:
        """(photo id, what went wrong) for `status`: photos it could use only in part."""
        return []
