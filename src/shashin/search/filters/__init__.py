"""Filters: which photos a search may return, by date, place, folder, camera, text in the photo,
and what people keep in other apps (keywords, rating, colour label, named people).

`declared` says once what filters there are (every interface is made from it), `select` how each
picks photos, `model` the Filters a search carries and how a user's values become them. The
declarations import nothing heavy, so the CLI builds its options without loading numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shashin.search.filters.declared import BY_ARGUMENT, BY_PARAM, FILTERS, Filter, from_params, to_params

if TYPE_CHECKING:
    from shashin.search.filters.model import (
        FilterError,
        Filters,
        Near,
        PlaceOfPhoto,
        build_filters,
        find_place,
        places_in,
        places_of,
    )

_MODEL = ("FilterError", "Filters", "Near", "PlaceOfPhoto", "build_filters", "find_place", "places_in", "places_of")


def __getattr__(name: str) -> Any:
    if name in _MODEL:
        from shashin.search.filters import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BY_ARGUMENT",
    "BY_PARAM",
    "FILTERS",
    "Filter",
    "FilterError",
    "Filters",
    "Near",
    "PlaceOfPhoto",
    "build_filters",
    "find_place",
    "from_params",
    "places_in",
    "places_of",
    "to_params",
]
