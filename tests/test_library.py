"""The Library facade keeps no order-dependent state: what a call does does not depend on which
call came first."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from shashin.config import load_settings
from shashin.library import Library
from shashin.models.image_text import DEFAULT_CPU_MODEL
from shashin.store import Store


def _photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(folder / "red.png")
    return folder


def test_a_library_that_searched_before_indexing_still_records_the_auto_image_model(tmp_path: Path) -> None:
    """Searching first used to build the channels without recording "auto"'s choice, and indexing
    then reused them: a GPU process later chose another model and recomputed every vector."""
    folder = _photos(tmp_path)
    Library(tmp_path / "db", settings=load_settings({"channels": "phash"})).index([folder])
    library = Library(tmp_path / "db", settings=load_settings({"channels": "phash,image", "image.model": "auto"}))

    library.search("red")
    assert Store(tmp_path / "db").get_meta("image.model") in (None, "")  # a search records nothing
    library.index()

    assert Store(tmp_path / "db").get_meta("image.model") == DEFAULT_CPU_MODEL
    assert library.settings.image.model == "auto"  # the setting as given; what it settled to is the library's


def test_the_text_model_auto_choice_is_recorded_whatever_ran_first(tmp_path: Path) -> None:
    folder = _photos(tmp_path)
    Library(tmp_path / "db", settings=load_settings({"channels": "phash"})).index([folder])
    library = Library(tmp_path / "db", settings=load_settings({"channels": "phash"}))
    library.status()
    library.search("red")
    library.index()
    assert Store(tmp_path / "db").get_meta("captions.text_model")
