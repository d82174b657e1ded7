"""Updating a search structure with the rows changed since it was built, instead of rebuilding it.

The changed keys come from the change log (store/changes.py); each function returns the
structure for the table's current version — the old one as the main part with the changed rows
marked dead, plus a delta built from just those rows as they are now — or None when the change
cannot be applied that way (keys of a column the structure does not hold, keys of two columns at
once, or more changes than a delta should hold): then the caller rebuilds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np
import pyarrow as pa

from shashin.store.memory import (
    KeywordIndex,
    RowLookup,
    Segment,
    SegmentedKeywords,
    SegmentedRows,
    SegmentedVectors,
    VectorIndex,
    bool_array,
    encode,
    encode_column,
    member_of,
)
from shashin.store.persisted import Persist

Only = tuple[str, list[str]]  # build only the rows whose column holds one of these keys
Build = Callable[[Only | None], Any]

MIN_DELTA = 5_000  # changed keys a delta may always hold ...
DELTA_SHARE = 20  # ... or one in this many of the main part's rows, whichever is more


def _cumulative(prior: dict[str, set[str]], changes: dict[str, set[str]], rows: int) -> Only | None:
    merged = {column: set(keys) for column, keys in prior.items()}
    for column, keys in changes.items():
        merged.setdefault(column, set()).update(keys)
    if len(merged) != 1:
        return None if merged else ("", [])
    ((column, keys),) = merged.items()
    if len(keys) > max(MIN_DELTA, rows // DELTA_SHARE):
        return None  # time to fold the delta into a new main part
    return column, sorted(keys)


def update_table(sort_by: str | None) -> Callable[[pa.Table, dict[str, set[str]], Build], pa.Table | None]:
    """For a scanned table: the old rows less the changed ones, plus those rows as they are now."""

    def update(old: pa.Table, changes: dict[str, set[str]], build: Build) -> pa.Table | None:
        only = _cumulative({}, changes, old.num_rows)
        if only is None:
            return None
        column, keys = only
        if not keys:
            return old
        if column not in old.column_names:
            return None
        live = ~member_of(encode_column(old.column(column)), encode(keys))
        table = pa.concat_tables([old.filter(bool_array(live)), build(only).select(old.column_names)])
        return table.sort_by(sort_by) if sort_by else table

    return update


def persist_of(
    plain: type, segmented: type[Segment], opened: Callable[[Mapping[str, Any]], Any], update: Callable[..., Any]
) -> Persist[Any]:
    """How a structure kind and its segmented form are saved, opened and updated."""
    return Persist(
        lambda value: cast(Any, value).arrays() if isinstance(value, plain | segmented) else None,
        lambda arrays: segmented.opened_from(arrays, opened) if "__main__" in arrays else opened(arrays),
        update,
    )


def table_persist(sort_by: str | None) -> Persist[pa.Table]:
    """A scanned table: saved as Arrow, brought up to date by its changed rows."""
    return Persist(lambda table: {"table": table}, lambda arrays: arrays["table"], update_table(sort_by))


def _segmented(
    old: Any,
    main: Any,
    prior: dict[str, set[str]],
    changes: dict[str, set[str]],
    build: Build,
    values: Callable[[str], np.ndarray | None],
    kind: type[Segment],
) -> Any:
    """The main part with the rows whose `column` holds a changed key marked dead (`values` gives
    a column's encoded values, None when the main part does not hold it: rebuild), and those rows
    as they are now beside it."""
    only = _cumulative(prior, changes, len(main.keys))
    if only is None:
        return None
    column, keys = only
    if not keys:
        return old
    held = values(column)
    if held is None:
        return None
    return kind(main, ~member_of(held, encode(keys)), build(only), {column: set(keys)})


def update_rows(old: Any, changes: dict[str, set[str]], build: Build) -> SegmentedRows | RowLookup | None:
    main, prior = (old.main, old.changed) if isinstance(old, SegmentedRows) else (old, {})

    return _segmented(old, main, prior, changes, build, main.column, SegmentedRows)


def update_index(key_column: str) -> Callable[[Any, dict[str, set[str]], Build], Any]:
    """For a KeywordIndex or VectorIndex keyed by `key_column` (rows also know their photo ids)."""

    def update(old: Any, changes: dict[str, set[str]], build: Build) -> Any:
        if isinstance(old, SegmentedKeywords | SegmentedVectors):
            main, prior = old.main, old.changed
        elif isinstance(old, KeywordIndex | VectorIndex):
            main, prior = old, {}
        else:
            return None  # a structure over Lance's own on-disk index

        def values(column: str) -> np.ndarray | None:
            return main.keys if column == key_column else main.photo_ids if column == "photo_id" else None

        kind = SegmentedKeywords if isinstance(main, KeywordIndex) else SegmentedVectors
        return _segmented(old, main, prior, changes, build, values, kind)

    return update


__all__ = ["MIN_DELTA", "Build", "Only", "persist_of", "table_persist", "update_index", "update_rows", "update_table"]
