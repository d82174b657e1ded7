"""The only code that talks to LanceDB: tables, schema version, writes and reads."""

from shashin.store.lance import FileRow, ErrorRow, Store, StoreBusy, StoreError

__all__ = ["ErrorRow", "FileRow", "Store", "StoreBusy", "StoreError"]
