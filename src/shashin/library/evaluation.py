"""Evaluation runs over a library: the queries of each protocol, asked as a user would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shashin.channels import AnyChannel, derived_channels, indexed_channels, search_channels
from shashin.channels.base import Hit
from shashin.channels.image import ImageChannel
from shashin.config import Settings
from shashin.evaluation.queries import EvalQuery
from shashin.evaluation.run import EvalRun
from shashin.library.errors import LibraryError
from shashin.models.base import ModelUnavailable
from shashin.store import Store, photo_finder

if TYPE_CHECKING:
    from shashin.evaluation.people import PeopleReport
    from shashin.library import Library


def _evaluation_config(store: Store, settings: Settings, channels: Sequence[AnyChannel], parse: bool) -> dict[str, Any]:
    """What produced an evaluation: versions, models, fusion settings, the captions searched."""
    from datetime import datetime

    from shashin import __version__

    captions: dict[str, int] = {}
    for row in store.captions(["source", "backend", "model", "prompt_set", "lang"], status="done"):
        key = f"{row['prompt_set']}/{row['lang']}: {row['source']} ({row['backend']}, {row['model']})"
        captions[key] = captions.get(key, 0) + 1
    return {
        "shashin": __version__,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "db": str(store.root),
        "photos": store.count_photos(),
        "image_model": settings.image.model,
        "caption_text_model": settings.captions.text_model,
        "channel_versions": {c.name: c.version() for c in indexed_channels(channels) + derived_channels(channels)},
        "captions": captions,
        "search": {
            "fusion": settings.search.fusion,
            "rrf_k": settings.search.rrf_k,
            "candidates": settings.search.candidates,
            "weights": dict(settings.search.weights),
            "exact_first": settings.search.exact_first,
        },
        "query_parsing": parse,
    }


class Evaluation:
    """How well search finds known photos (library.evaluation): the queries of each protocol, a
    run scoring every channel's ranking and the fused one, and the people protocol."""

    def __init__(self, library: Library) -> None:
        self._library = library

    def queries(
        self,
        *,
        file: str | Path | None = None,
        known_captions: str | Path | None = None,
        self_captions: bool = False,
        similar: bool = False,
    ) -> tuple[list[EvalQuery], list[str]]:
        """The queries of the protocols asked for, and notes on those that could not run.

        `file`: query rows (relevant photos or a relevant category); `known_captions`: COCO-style
        rows whose first caption per language is imported now (into this library) and whose other
        captions become the queries; `self_captions`: every stored caption asks for its photo;
        `similar`: leave-one-out photo → photo within folders.
        """
        library = self._library
        from shashin.evaluation import queries as protocols

        store = library.open_store()
        found: list[EvalQuery] = []
        notes: list[str] = []
        try:
            if known_captions is not None:
                library.import_captions(Path(known_captions).expanduser())
                found += protocols.known_caption_queries(Path(known_captions).expanduser(), store)
            if file is not None:
                found += protocols.load_queries(Path(file).expanduser(), store)
        except protocols.QueryFileError as exc:
            raise LibraryError(str(exc)) from exc
        if self_captions:
            asked = protocols.caption_queries(store)
            found += asked
            if not asked:
                notes.append("caption self-retrieval: the library has no captions")
        if similar:
            image = library._image_channel(store)
            if not image.has_vectors(store):
                notes.append("photo → photo: skipped, no image vectors from the current image model in this library")
            else:
                found += protocols.similar_queries(store)
        return found, notes

    def run(
        self,
        queries: Sequence[EvalQuery],
        *,
        channels: Sequence[str] | None = None,
        parse: bool = True,
        notes: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
    ) -> EvalRun:
        """Ask every query as a user would (same search, same settings) and score each channel's
        ranking and the fused one; `channels` limits both to those named."""
        library = self._library
        from shashin.evaluation.run import evaluate as run_queries
        from shashin.search.fuse import FusionConfig
        from shashin.search.relevance import calibration_for

        store = library.open_store()
        settings, built = library._channels(store)
        available = search_channels(built)
        names = [c.name for c in available]
        chosen = list(channels) if channels else names
        unknown = [name for name in chosen if name not in names]
        if unknown:
            raise LibraryError(f"unknown channel {', '.join(unknown)} (channels: {', '.join(names)})")
        fusion = FusionConfig.of(settings.search, available, chosen, calibration_for(settings.search.calibration))

        def ask(query: EvalQuery) -> tuple[dict[str, list[Hit]], dict[str, str]]:
            if query.photo is not None:
                try:
                    response = library.similar(query.photo, limit=1)
                except ModelUnavailable as exc:
                    return {}, {ImageChannel.name: str(exc)}
                return response.hits, {}
            response = library.search(query.text, limit=1, parse=parse)
            removed = {photo_id for removal in response.removed for photo_id in removal.by}
            if removed:  # "cat -dog": every ranking is judged as the user gets it, without what was left out
                hits = {name: [h for h in found if h.photo_id not in removed] for name, found in response.hits.items()}
                return hits, response.unavailable
            return response.hits, response.unavailable

        run = run_queries(queries, ask, fusion, _evaluation_config(store, settings, built, parse), progress=progress)
        run.notes.extend(notes)
        missing = sorted({f"{name}: {why}" for r in run.results for name, why in r.unavailable.items()})
        run.notes.extend(f"channel unavailable — {line}" for line in missing)
        return run

    def people(self, labels: Path) -> PeopleReport:
        """The people protocol against a labels file (shashin.evaluation.people)."""
        from shashin.evaluation.people import read_labels, score_people

        try:
            rows = read_labels(labels)
        except OSError as exc:
            raise LibraryError(f"{labels}: cannot read: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise LibraryError(str(exc)) from exc
        store = self._library.open_store()
        find = photo_finder(store)
        return score_people(store, rows, lambda image: find(image) or find(Path(image).name))
