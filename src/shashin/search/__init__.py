"""Search: ask each channel, fuse their rankings into one, and explain each result."""

from typing import Literal

# Here, not in engine.py, so that the command line checks --sort without importing the engine.
Sort = Literal["relevance", "newest", "oldest", "date", "-date"]
SORTS: tuple[str, ...] = ("relevance", "newest", "oldest", "date", "-date")
# date: oldest first, -date: newest first (as a sort key is written elsewhere); the same orders.
SORT_ALIASES: dict[str, str] = {"date": "oldest", "-date": "newest"}


def sort_order(sort: str) -> str:
    """The order a sort names: relevance, newest or oldest."""
    return SORT_ALIASES.get(sort, sort)
