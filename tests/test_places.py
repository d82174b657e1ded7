import numpy as np

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
