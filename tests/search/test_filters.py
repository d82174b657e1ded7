"""Filters, query parsing, sorting, paging and explanations on real indexed photos (tools/render.py
SAMPLES: signs with EXIF dates, GPS in Tokyo and Kyoto, several cameras, folders named by place)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from tools.render import write_samples

from shashin import Library
from shashin.library import LibraryError
from shashin.places import Gazetteer
from shashin.search.filters import FilterError, Filters, build_filters


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Library, Path]:
    folder = tmp_path_factory.mktemp("samples") / "photos"
    write_samples(folder)
    library = Library(tmp_path_factory.mktemp("samples-db") / "db")
    library.index([folder])
    return library, folder


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(Path(r.path).relative_to(Path(r.path).parents[1])) for r in response.results]


def test_japanese_place_by_gps_and_by_folder_name(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    response = library.search("京都")
    # Kiyomizu-dera has GPS 3.8 km from Kyoto's centre; the café menu has no GPS but sits in kyoto/.
    assert set(names(response)) == {"kyoto/kiyomizu.jpg", "kyoto/cafe-menu.gif"}
    assert response.searched == "" and response.filters.near[0].place.name == "Kyoto"
    kiyomizu = next(r for r in response.results if r.path.endswith("kiyomizu.jpg"))
    assert kiyomizu.place is not None and kiyomizu.place.town.country == "JP" and kiyomizu.place.distance_km < 5


def test_english_place_in_the_query_filters_and_the_rest_is_searched(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    response = library.search("station in Tokyo")
    assert response.searched == "station"
    assert names(response)[0] == "tokyo/station.jpg"
    assert all(n.startswith("tokyo/") for n in names(response))
    assert library.search("station in Kyoto").results == []  # the station sign is in Tokyo


def test_date_in_the_query_in_both_languages(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    assert set(names(library.search("2024年4月"))) == {"tokyo/2024-04-03_park-sign.jpg", "tokyo/station.jpg"}
    beach = library.search("open July 2023")
    assert beach.searched == "open" and names(beach) == ["beach/open-sign.heic"]
    # The September 2025 photo is not in Kyoto: rather than nothing, the words are searched and say so.
    kyoto = library.search("2025年9月 の 京都")
    assert names(kyoto) == ["kyoto/kiyomizu.jpg"] and "searched as written" in kyoto.understood[0]
    assert names(library.search("2025年9月")) == ["conference/wet-floor-rotated.jpg"]


def test_explicit_filters(samples) -> None:  # type: ignore[no-untyped-def]
    library, folder = samples
    between = library.search("", filters=build_filters(taken_from="2024", taken_to="2025-09"))
    assert names(between) == ["conference/wet-floor-rotated.jpg", "tokyo/2024-04-03_park-sign.jpg", "tokyo/station.jpg"]
    assert [r.taken_at for r in between.results] == sorted((r.taken_at for r in between.results), reverse=True)
    assert names(library.search("", filters=build_filters(cameras=["canon"]))) == ["kyoto/kiyomizu.jpg"]
    assert set(names(library.search("", filters=Filters.of(folders=(str(folder / "conference"),))))) == {
        "conference/slide-welcome.tiff",
        "conference/wet-floor-rotated.jpg",
    }
    assert library.search("", filters=Filters.of(has_text=False)).results == []  # every sample is a sign
    near = library.search("", filters=build_filters(near="35.68,139.76", radius_km=2))
    assert names(near) == ["tokyo/station.jpg"]
    exit_sign = library.search("exit", filters=build_filters(near="Japan"))
    assert exit_sign.results == [] or all(r.place is None or r.place.town.country == "JP" for r in exit_sign.results)


def test_bad_filters_say_what_is_wrong() -> None:
    with pytest.raises(FilterError, match="--from 'someday'"):
        build_filters(taken_from="someday")
    with pytest.raises(FilterError, match="unknown place"):
        build_filters(near="Qqqzzx")
    with pytest.raises(FilterError, match="--radius"):
        build_filters(near="Kyoto", radius_km=0)


def test_literal_search_reads_nothing_out_of_the_query(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    response = library.search("Tokyo Station", parse=False)
    assert response.filters.active is False and response.searched == "Tokyo Station"
    assert names(response)[0] == "tokyo/station.jpg"


def test_a_named_place_ranks_photos_taken_there(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    response = library.search("Tokyo Station")
    top = response.results[0]
    assert names(response)[0] == "tokyo/station.jpg" and "place" in top.channels
    taken = [h for h in top.highlights if h.channel == "place"]
    assert taken and "km from Tokyo" in taken[0].text


def test_explanations_agree_with_the_channel_rankings(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    response = library.search("NO LITTER 禁止")
    assert response.results
    for result in response.results:
        assert result.channels, result.path
        for channel, match in result.channels.items():
            assert response.rankings[channel][match.rank - 1] == result.photo_id
        for highlight in result.highlights:
            for start, end in highlight.spans:
                assert highlight.text[start:end].casefold() in ("no", "litter", "禁止", "no litter")
        assert 0 < result.relevance <= 1
    top = response.results[0]
    assert top.path.endswith("2024-04-03_park-sign.jpg") and top.exact and top.channels["ocr"].exact
    document = response.to_dict()["results"][0]
    assert document["exact"] is True and document["channels"]["ocr"]["rank"] == 1
    assert document["taken_at"] == "2024-04-03T10:12:00" and document["place"].endswith(", JP")


def test_sorting_paging_and_min_score(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    full = library.search("禁止 OR exit open", limit=50)
    assert full.total == len(full.results) >= 3
    paged = [
        r.photo_id
        for offset in range(full.total)
        for r in library.search("禁止 OR exit open", limit=1, offset=offset).results
    ]
    assert paged == [r.photo_id for r in full.results]
    newest = library.search("禁止 OR exit open", sort="newest", limit=50).results
    dated = [r.taken_at for r in newest if r.taken_at]
    assert dated == sorted(dated, reverse=True) and newest[-1].taken_at is None  # undated last
    oldest = [r.taken_at for r in library.search("禁止 OR exit open", sort="oldest", limit=50).results if r.taken_at]
    assert oldest == sorted(oldest)
    strict = library.search("禁止 OR exit open", min_score=0.5, limit=50)
    assert all(r.relevance >= 0.5 for r in strict.results) and strict.total < full.total
    with pytest.raises(LibraryError):
        library.search("x", min_score=2)


def test_photos_without_a_date_never_pass_a_date_filter(samples) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    everything = library.search("", filters=build_filters(taken_from="1990"), limit=50)
    assert all(isinstance(r.taken_at, datetime) for r in everything.results) and everything.total == 5


def test_towns_are_worked_out_when_photos_arrive_not_on_every_search(samples, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    library, _ = samples
    library.search("京都")  # the photos' nearest towns are worked out here, once for the library

    def looked_up(*args: object) -> None:
        raise AssertionError("a search looked a town up")

    monkeypatch.setattr(Gazetteer, "nearest", looked_up)
    kiyomizu = next(r for r in library.search("京都").results if r.path.endswith("kiyomizu.jpg"))
    assert kiyomizu.place is not None and kiyomizu.place.town.name == "Kyoto" and kiyomizu.place.distance_km < 5
    in_japan = set(names(library.search("photos in Japan")))
    assert {"kyoto/kiyomizu.jpg", "tokyo/station.jpg"} <= in_japan
    assert not any(name.startswith("beach/") for name in in_japan)
    station = library.search("Tokyo Station").results[0]
    assert any("km from Tokyo" in h.text for h in station.highlights if h.channel == "place")
