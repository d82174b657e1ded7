"""Saved searches (smart albums): a name for a query and its filters, run live each time — the
photos indexed since are in it, never a snapshot. Kept in the library's key/value table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shashin.errors import NotFound, UsageError
from shashin.search import SORTS
from shashin.search.filters import build_filters
from shashin.store.contract import MetaStore

PREFIX = "saved_search:"
MAX_NAME = 100


@dataclass(frozen=True)
class SavedSearch:
    """A named query: its words, its filters (build_filters' arguments) and its order."""

    name: str
    query: str
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "relevance"
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "filters": self.filters,
            "sort": self.sort,
            "created_at": self.created_at,
        }

    def describe(self) -> str:
        """The query and its filters in words ("beach · 2023 · camera ricoh")."""
        parts = [f"“{self.query}”"] if self.query else []
        described = build_filters(**self.filters).describe() if self.filters else []
        return " · ".join(parts + list(described)) or "(every photo)"


def saved_searches(store: MetaStore) -> list[SavedSearch]:
    """Every saved search, by name."""
    found = []
    for key, value in store.meta_values().items():
        if key.startswith(PREFIX) and value:
            data = json.loads(value)
            found.append(SavedSearch(**{k: data[k] for k in ("name", "query", "filters", "sort", "created_at")}))
    return sorted(found, key=lambda s: s.name.casefold())


def saved_search(store: MetaStore, name: str) -> SavedSearch:
    """One saved search by its name (any case), or NotFound listing the names there are."""
    for search in saved_searches(store):
        if search.name.casefold() == name.strip().casefold():
            return search
    names = ", ".join(s.name for s in saved_searches(store)) or "none yet"
    raise NotFound(f"no saved search named {name!r} (saved: {names})")


def save_search(
    store: MetaStore, name: str, query: str, filters: dict[str, Any], sort: str = "relevance"
) -> SavedSearch:
    """Save (or replace) a search under `name`; its filters are checked now, not when it runs."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise UsageError(f"a saved search needs a name of 1 to {MAX_NAME} characters")
    if sort not in SORTS:
        raise UsageError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    kept = {k: v for k, v in filters.items() if v not in (None, [], (), "")}
    build_filters(**kept)  # a date that does not exist is an error now, with the same message
    if not query.strip() and not kept:
        raise UsageError("a saved search needs words or a filter")
    search = SavedSearch(name, query.strip(), kept, sort, datetime.now(UTC).isoformat(timespec="seconds"))
    store.set_meta(PREFIX + name.casefold(), json.dumps(search.to_dict(), ensure_ascii=False))
    return search


def remove_saved_search(store: MetaStore, name: str) -> SavedSearch:
    """Forget a saved search (its photos are untouched); NotFound when there is none by that name."""
    search = saved_search(store, name)
    store.delete_meta(PREFIX + search.name.casefold())
    return search
