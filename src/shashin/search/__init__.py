"""Search: ask each channel, fuse their rankings into one, and explain each result."""

from typing import Literal

# Here, not in engine.py, so that the command line checks --sort without importing the engine.
Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[str, ...] = ("relevance", "newest", "oldest")
