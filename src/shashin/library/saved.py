"""`library.saved`: searches kept under a name (smart albums), run live each time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shashin.search.filters import build_filters
from shashin.search.saved import SavedSearch, remove_saved_search, save_search, saved_search, saved_searches

if TYPE_CHECKING:
    from shashin.library import Library
    from shashin.search.engine import SearchResponse


class SavedSearches:
    """The library's saved searches (library.saved)."""

    def __init__(self, library: Library) -> None:
        self._library = library

    def all(self) -> list[SavedSearch]:
        """The searches saved in this library, by name."""
        return saved_searches(self._library.open_store())

    def save(
        self, name: str, query: str, filters: dict[str, Any] | None = None, sort: str = "relevance"
    ) -> SavedSearch:
        """Save `query` with `filters` (build_filters' arguments: taken_from, cameras, people…)
        under `name`, replacing one of that name; it runs live each time (run)."""
        self._library.check_query(query)  # a saved search that could never run is refused now
        store = self._library.open_store()
        with store.writer():
            return save_search(store, name, query, filters or {}, sort)

    def remove(self, name: str) -> SavedSearch:
        """Forget a saved search (no photo is touched)."""
        store = self._library.open_store()
        with store.writer():
            return remove_saved_search(store, name)

    def run(
        self, name: str, *, limit: int = 20, offset: int = 0, facets: bool = False, everything: bool = False
    ) -> SearchResponse:
        """The photos a saved search finds now (photos indexed since it was saved included);
        `everything` also those below the relevance cut-off."""
        saved = saved_search(self._library.open_store(), name)
        return self._library.search(
            saved.query,
            filters=build_filters(**saved.filters),
            sort=saved.sort,  # type: ignore[arg-type]
            limit=limit,
            offset=offset,
            facets=facets,
            everything=everything,
        )
