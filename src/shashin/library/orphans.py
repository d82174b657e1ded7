"""`library.orphans`: what people wrote about photos that left the library, kept until the photo
returns, the words are given to another photo, or they are forgotten."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shashin.ingest.orphans import Reattached
from shashin.library.errors import LibraryError
from shashin.store import Orphan, Store

if TYPE_CHECKING:
    from shashin.library import Library


class Orphans:
    """A person's words kept from former photos (library.orphans)."""

    def __init__(self, library: Library) -> None:
        self._library = library

    def all(self) -> list[Orphan]:
        """Every former photo's kept words."""
        return self._library.open_store().orphans()

    def attach(self, orphan: str, photo: str, *, replace: bool = False) -> Reattached:
        """Give the kept words of a former photo (its id, or a unique start of it) to `photo` (a path
        or id of this library). A caption the photo already has from a person is kept unless `replace`."""
        from shashin.ingest.orphans import reattach

        store = self._library.open_store()
        found = self._orphan(store, orphan)
        photo_id = self._library.find_photo(photo)
        with store.writer():
            outcome = reattach(store, found, photo_id, replace=replace)
            self._library.refresh_derived(store)
        return outcome

    def forget(self, orphans: Sequence[str] = (), *, everything: bool = False) -> list[str]:
        """Delete the kept words of these former photos (ids or unique starts), or of all with
        `everything`; returns the former photo ids forgotten."""
        store = self._library.open_store()
        chosen = (
            [o.former_photo_id for o in store.orphans()]
            if everything
            else [self._orphan(store, o).former_photo_id for o in orphans]
        )
        if chosen:
            with store.writer():
                store.forget_orphans(chosen)
        return chosen

    def _orphan(self, store: Store, prefix: str) -> Orphan:
        prefix = prefix.strip().lower()
        matches = [o for o in store.orphans() if o.former_photo_id.startswith(prefix)] if prefix else []
        if len(matches) != 1:
            known = ", ".join(o.former_photo_id[:12] for o in store.orphans()) or "none"
            what = "no" if not matches else "more than one"
            raise LibraryError(f"{prefix!r} names {what} kept photo (see `shashin orphans`; kept: {known})")
        return matches[0]
