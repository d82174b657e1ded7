"""The only code that talks to LanceDB: tables, schema version, writes and reads.

`Store` is built from one module per job (core, library_tables, channel_tables, search_indexes,
maintenance, lock; see store/lance.py); store/contract.py names what the rest of shashin uses.
"""

# First: lancedb is imported without the REST client it would load for nothing (1.2 s).
from shashin.store import lancedb_import  # noqa: F401

# isort: split

from shashin.store.errors import LibraryDamaged, StoreBusy, StoreError
from shashin.store.lance import Store
from shashin.store.lookup import photo_finder
from shashin.store.memory import PhotoFacts, PhotoSet
from shashin.store.records import ErrorRow, FileRow, Orphan, SearchTuning, TableHealth, VectorIndexReport

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
