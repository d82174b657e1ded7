"""Naming people: a name is compared with names only (before, `people name X ed` merged X into the
stranger whose id starts "ed" and lost the name while saying it was applied); an id given by its
first digits needs at least four of them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.library import LibraryError
from shashin.store import Store
from tests.conftest import run_cli
from tests.metadata.files import photo

IDS = ("ed0123456789", "9abc00000000", "abe111111111", "1111aaaa0000")


@pytest.fixture
def library(tmp_path: Path) -> Library:
    folder = tmp_path / "photos"
    photo(folder / "a.jpg")
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([folder])
    store = Store(library.path, create=False)
    [photo_id] = store.photo_ids()
    now = datetime.now(UTC)
    store.put_rows("people", [{"person_id": pid, "photo_id": photo_id, "name": None, "created_at": now} for pid in IDS])
    return library


def _names(library: Library) -> dict[str, str | None]:
    return {row["person_id"]: row["name"] for row in Store(library.path, create=False).all_rows("people")}


def test_a_name_that_starts_another_persons_id_is_still_a_name(library: Library) -> None:
    for name in ("ed", "abe", "9"):
        assert library.people.name("1111aaaa0000", name) == "1111aaaa0000"
        assert _names(library) == {**dict.fromkeys(IDS[:3]), "1111aaaa0000": name}
    assert library.people.name("9", "Mia") == "1111aaaa0000"  # "9" is now a name: that person's
    assert library.people.name("ed01", "Ed") == "ed0123456789"  # four digits of an id are enough
    with pytest.raises(LibraryError, match="names no person"):
        library.people.name("abe", "Abe")  # too few digits to be an id, and nobody is called so
    assert library.people.name("abe1", "Mia") == "1111aaaa0000"  # a name already taken: one person
    assert "abe111111111" not in _names(library)


def test_the_command_says_what_it_did(library: Library) -> None:
    result = run_cli("people", "name", "1111aaaa0000", "ed", "--db", str(library.path))
    assert result.returncode == 0, result.stderr
    assert "1111aaaa0000 is now ed" in result.stdout
    assert _names(library)["1111aaaa0000"] == "ed" and "ed0123456789" in _names(library)
