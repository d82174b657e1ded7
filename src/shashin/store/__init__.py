"""The only code that talks to LanceDB: tables, schema version, writes and reads."""

from shashin.store.lance import (
    ErrorRow,
    FileRow,
    LibraryDamaged,
    Orphan,
    SearchTuning,
    Store,
    StoreBusy,
    StoreError,
    TableHealth,
    VectorIndexReport,
)
from shashin.store.lookup import photo_finder
from shashin.store.memory import PhotoFacts, PhotoSet

__all__ = [
    "ErrorRow",
    "FileRow",
    "LibraryDamaged",
    "Orphan",
    "PhotoFacts",
    "PhotoSet",
    "SearchTuning",
    "Store",
    "StoreBusy",
    "StoreError",
    "TableHealth",
    "VectorIndexReport",
    "photo_finder",
]
