import numpy as np

from shashin import places
from shashin.places import distance_km, gazetteer, normalize_name


def test_places_are_found_by_their_names_in_both_languages() -> None:
    for name in ("Kyoto", "kyoto", "Kyōto", "京都", "京都市", "ＫＹＯＴＯ"):
        assert gazetteer().lookup(name)[0].name == "Kyoto", name
    tokyo = gazetteer().lookup("東京")[0]
    assert (tokyo.name, tokyo.country, tokyo.local_name) == ("Tokyo", "JP", "東京")
    assert gazetteer().lookup("Paris")[0].country == "FR"  # the most populous Paris first
    assert gazetteer().lookup("パリ")[0].name == "Paris"
    japan = gazetteer().lookup("日本")[0]
    assert japan.is_country and japan.country == "JP" and gazetteer().lookup("Japan")[0] == japan
    assert gazetteer().lookup("Atlantis Ocean Floor") == []


def test_nearest_town_and_distance() -> None:
    towns, distances = gazetteer().nearest(np.array([35.6595, 34.9949]), np.array([139.7005, 135.7850]))
    names = [gazetteer().town(int(t)).name for t in towns]
    assert names[0] == "Shibuya" and distances[0] < 2
    kyoto = gazetteer().lookup("Kyoto")[0]
    assert abs(distance_km(np.array([34.9949]), np.array([135.7850]), kyoto)[0] - 3.8) < 0.5  # Kiyomizu-dera
    tokyo = gazetteer().lookup("Tokyo")[0]
    assert 360 < distance_km(np.array([kyoto.latitude]), np.array([kyoto.longitude]), tokyo)[0] < 380


def test_radius_grows_with_the_town() -> None:
    assert gazetteer().lookup("Tokyo")[0].default_radius_km() > gazetteer().lookup("Kyoto")[0].default_radius_km() > 10
    assert gazetteer().lookup("Hakone")[0].default_radius_km() < 5


def test_names_compare_without_case_width_or_accents() -> None:
    assert normalize_name("Ｔōkyō") == normalize_name("tokyo") == "tokyo"


def test_a_page_of_positions_is_scanned_and_many_use_the_tree_with_the_same_answers() -> None:
    rng = np.random.default_rng(3)
    latitude, longitude = rng.uniform(-55, 70, 300), rng.uniform(-180, 180, 300)
    many_towns, many_km = gazetteer().nearest(latitude, longitude)  # more than a page: the tree
    for i in range(0, 300, 7):
        towns, km = gazetteer().nearest(latitude[i : i + 1], longitude[i : i + 1])  # one: a scan
        assert towns[0] == many_towns[i] and abs(km[0] - many_km[i]) < 1e-6
    assert gazetteer().nearest(np.array([]), np.array([]))[0].size == 0


def _mapped(array: np.ndarray) -> bool:
    """Whether an array's memory is a file mapping (a plain view of one included)."""
    import mmap

    base = array
    while getattr(base, "base", None) is not None and not isinstance(base, mmap.mmap):
        base = base.base
    return isinstance(base, mmap.mmap)


def test_the_gazetteer_cache_opens_memory_mapped_and_a_damaged_one_is_rebuilt(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gazetteer.cache_clear()
    try:
        built = gazetteer()
        folder = places._cache_path()
        assert folder.is_dir() and not list(tmp_path.rglob("*.part"))
        gazetteer.cache_clear()
        opened = gazetteer()
        assert _mapped(opened._c["key_blob"])  # read from disk, not loaded
        assert opened.lookup("Kyoto") == built.lookup("Kyoto")
        (folder / "postings.npy").write_bytes(b"not an array")  # a crash or a disk error
        gazetteer.cache_clear()
        assert gazetteer().lookup("京都")[0].name == "Kyoto"
        gazetteer.cache_clear()
        assert gazetteer().lookup("Kyoto")[0].name == "Kyoto"  # the rebuilt cache opens again
    finally:
        gazetteer.cache_clear()


def test_nearest_towns_from_the_tree_are_those_of_the_scan() -> None:
    """A process's first searches scan every town; one that keeps asking builds the tree: the
    same towns either way."""
    towns = gazetteer()
    latitude, longitude = np.array([35.68, 35.01, 48.86, -33.87, 64.1]), np.array([139.76, 135.77, 2.35, 151.2, -21.9])
    fresh = places.Gazetteer(towns._c, list(towns.countries.values()))
    answers = [fresh.nearest(latitude, longitude) for _ in range(places._SCANS_BEFORE_TREE + 1)]
    assert "_tree" in fresh.__dict__  # the last answer came from the tree
    assert (answers[0][0] == answers[-1][0]).all() and np.allclose(answers[0][1], answers[-1][1])
