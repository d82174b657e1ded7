"""The library at a glance, for a home page: how many photos, what each channel has done and what
it lacks (said once, here), the newest photos, the months they were taken in, and the people."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shashin.ingest.estimate import describe_run
from shashin.store import Store

if TYPE_CHECKING:
    from shashin.library.status import LibraryStatus
    from shashin.people.lookup import Person

RECENT = 12  # photos shown as the newest
MONTHS = 36  # months the timeline lists, newest first (older ones are counted by year)


@dataclass(frozen=True)
class Home:
    """What a home page shows. `recent`: photo ids, newest taken first (photos without a date
    after them); `months`: ("2024-04", photos) newest first; `years`: the same for years older
    than the months listed; `missing`: channel → what to do to get its model."""

    photos: int
    progress: list[dict[str, Any]]
    missing: dict[str, str]
    recent: list[str]
    months: list[tuple[str, int]]
    years: list[tuple[str, int]]
    undated: int
    people: list[tuple[str, int]] = field(default_factory=list)
    indexing: str | None = None  # the index run under way, in words

    def to_dict(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "channels": self.progress,
            "missing_models": self.missing,
            "recent": self.recent,
            "months": [{"month": m, "photos": n} for m, n in self.months],
            "years": [{"year": y, "photos": n} for y, n in self.years],
            "undated": self.undated,
            "people": [{"name": name, "photos": n} for name, n in self.people],
            "indexing": self.indexing,
        }


def home_of(store: Store, status: LibraryStatus, people: list[Person]) -> Home:
    """The home page's facts, from the library's status, its photos' dates and its people (a
    library without photos has no dates to read)."""
    facts = store.photo_facts() if status.photos else None
    ids = facts.ids if facts is not None else np.array([], dtype="S1")
    taken = facts.taken_at if facts is not None else np.array([], dtype="datetime64[s]")
    dated = ~np.isnat(taken)
    order = np.argsort(-taken[dated].astype(np.int64), kind="stable")
    newest = np.flatnonzero(dated)[order][:RECENT].tolist()
    newest += np.flatnonzero(~dated)[: RECENT - len(newest)].tolist()
    months = Counter(taken[dated].astype("datetime64[M]").astype(str).tolist())
    ordered = sorted(months.items(), reverse=True)
    shown, older = ordered[:MONTHS], ordered[MONTHS:]
    years: Counter[str] = Counter()
    for month, n in older:
        years[month[:4]] += n
    return Home(
        photos=status.photos,
        progress=[
            {"name": c.name, "description": c.description, "done": c.done, "pending": c.pending, "failed": c.failed}
            for c in status.channels
        ],
        missing={c.name: c.unavailable for c in status.channels if c.unavailable},
        recent=[ids[i].decode() for i in newest],
        months=shown,
        years=sorted(years.items(), reverse=True),
        undated=int((~dated).sum()),
        people=[(p.name, p.photos) for p in people if p.name][:12],
        indexing=describe_run(status.indexing) if status.indexing else None,
    )
