"""The home page's facts on an empty library and on the samples (dated and undated photos)."""

from __future__ import annotations

from pathlib import Path

from tools.render import write_samples

from shashin import Library
from shashin.config import load_settings


def test_an_empty_library_has_a_home_with_nothing_in_it(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([tmp_path / "photos"])
    home = library.home()
    assert (home.photos, home.recent, home.months, home.years, home.undated) == (0, [], [], [], 0)


def test_the_samples_home_counts_every_photo_once_newest_first(tmp_path: Path) -> None:
    write_samples(tmp_path / "photos")
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([tmp_path / "photos"])
    home = library.home()
    assert home.photos == 9 and len(home.recent) == 9 and len(set(home.recent)) == 9
    assert home.undated + sum(n for _, n in home.months) + sum(n for _, n in home.years) == 9
    assert [m for m, _ in home.months] == sorted((m for m, _ in home.months), reverse=True)
    newest = library.open_store().get_photos([home.recent[0]])[home.recent[0]]["taken_at"]
    assert newest is not None and newest.strftime("%Y-%m") == home.months[0][0]
