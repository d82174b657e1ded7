"""The tables' current versions, readable without LanceDB: a one-shot search opens no database.

`<library>/search/catalogue.json` names every table with the version and incarnation its last
logged commit made. A short-lived process (a CLI search) checks it against the tables themselves
— the newest manifest in each `<table>.lance/_versions/` folder, a directory listing — and, when
every table agrees, searches from the saved structures with those versions without importing or
opening LanceDB (1 s of a 2 s CLI search was importing it). Any disagreement (a commit that was
not logged, a table made or dropped since, a manifest naming it cannot read) and the process
opens the library as usual.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

_U64 = 2**64 - 1


def _path(root: Path) -> Path:
    return root / "search" / "catalogue.json"


def _read(root: Path) -> dict[str, Any]:
    try:
        document = json.loads(_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def note(root: Path, table: str, version: int | None, incarnation: str, schema_version: int) -> None:
    """Record the version a logged commit made (None: forget the table, as when it is made again).
    Best effort and atomic: a reader sees the old file or the new one."""
    document = _read(root)
    tables = document.setdefault("tables", {})
    if version is None:
        tables.pop(table, None)
    else:
        tables[table] = {"version": int(version), "incarnation": incarnation}
    document["schema_version"] = schema_version
    _write(root, document)


def replace(root: Path, tables: dict[str, tuple[int, str]], schema_version: int) -> None:
    """Write the whole catalogue from versions just read from the tables themselves."""
    entries = {name: {"version": int(v), "incarnation": i} for name, (v, i) in tables.items()}
    _write(root, {"tables": entries, "schema_version": schema_version})


def _write(root: Path, document: dict[str, Any]) -> None:
    path = _path(root)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()


def newest_manifest(table_folder: Path) -> int | None:
    """The newest version among a Lance table's manifests (both of Lance's file namings), or None."""
    newest = None
    try:
        names = os.listdir(table_folder / "_versions")
    except OSError:
        return None
    for name in names:
        stem, _, suffix = name.partition(".")
        if suffix != "manifest" or not stem.isdigit():
            continue
        number = int(stem)
        version = _U64 - number if number >= 2**63 else number  # V2 naming counts down from 2^64 - 1
        newest = version if newest is None else max(newest, version)
    return newest


def current(root: Path, schema_version: int) -> dict[str, tuple[int, str]] | None:
    """table -> (version, incarnation) when the catalogue agrees with every table on disk, else None."""
    document = _read(root)
    tables = document.get("tables")
    if not isinstance(tables, dict) or document.get("schema_version") != schema_version:
        return None
    try:
        on_disk = {
            entry.name[: -len(".lance")] for entry in os.scandir(root / "tables") if entry.name.endswith(".lance")
        }
    except OSError:
        return None
    on_disk.discard("writer_lease")
    if on_disk != set(tables):
        return None
    found: dict[str, tuple[int, str]] = {}
    for name, entry in tables.items():
        try:
            version, incarnation = int(entry["version"]), str(entry["incarnation"])
        except (KeyError, TypeError, ValueError):
            return None
        if newest_manifest(root / "tables" / f"{name}.lance") != version:
            return None
        found[name] = (version, incarnation)
    return found


__all__ = ["current", "newest_manifest", "note", "replace"]
