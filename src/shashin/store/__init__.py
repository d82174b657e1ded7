"""The only code that talks to LanceDB: tables, schema version, writes and reads."""

from shashin.store.lance import ErrorRow, FileRow, Store, StoreBusy, StoreError, sql_string

__all__ = ["ErrorRow", "FileRow", "Store", "StoreBusy", "StoreError", "sql_string"]
