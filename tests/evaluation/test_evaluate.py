"""shashin eval end to end on rendered photos indexed with the real OCR model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.evaluation.report import compare, write_report
from shashin.evaluation.tune import tune
from shashin.library import LibraryError
from tests.conftest import run_cli

QUERIES = [
    {"id": "litter", "query": "NO LITTER", "lang": "en", "relevant": ["park/no-litter.jpg"]},
    {"id": "station", "query": "東京駅", "lang": "ja", "relevant": ["station/tokyo.jpg"]},
    {"id": "matcha", "query": "抹茶", "relevant": ["cafe/menu.gif"]},
    {"id": "street", "query": "CAR PARK", "relevant_category": "street"},
]


def write_queries(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_per_channel_and_fused_metrics_with_a_report(indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    queries, notes = library.evaluation.queries(file=write_queries(tmp_path / "q.jsonl", QUERIES))
    assert len(queries) == 4 and notes == []
    street = next(q for q in queries if q.id == "street")
    assert street.protocol == "categories" and street.depth == 20 and len(street.relevant) == 2
    run = library.evaluation.run(queries)
    scores = {r.query.id: r.scores for r in run.results}
    assert scores["litter"]["ocr"]["mrr"] == 1.0 and scores["litter"]["fused"]["mrr"] == 1.0
    assert scores["station"]["fused"]["mrr"] == 1.0 and scores["matcha"]["ocr"]["mrr"] == 1.0
    assert scores["street"]["fused"]["p@1"] == 1.0  # the first result is in the street folder
    summary = run.summary()["all"]
    assert set(summary) >= {"ocr", "file", "fused"} and summary["fused"]["mrr"].n == 4
    assert set(run.summary(by=lambda q: q.lang)) == {"en", "ja"}
    assert run.config["search"]["rrf_k"] == 20 and run.config["channel_versions"]["ocr"]

    written = write_report(run, tmp_path / "report")
    for path in written:
        assert path.stat().st_size > 0, path
    for plot in ("mrr.png", "recall.png", "languages.png"):
        assert (tmp_path / "report" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    assert len(results["per_query"]) == 4 and results["summary"]["fused"]["mrr"]["n"] == 4
    assert "| fused |" in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert '<img src="mrr.png"' in html and "東京駅" in html

    only_files = library.evaluation.run(queries, channels=["file"])
    assert list(only_files.names) == ["file", "fused"]
    write_report(only_files, tmp_path / "files-only")
    change = compare(tmp_path / "report" / "results.json", tmp_path / "files-only" / "results.json")
    assert change["queries"] == 4 and change["b"] < change["a"] and change["worse"]
    assert {row["id"] for row in change["worse"]} <= {"litter", "station", "matcha", "street"}


def test_bad_query_files_name_the_line(indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    bad = write_queries(tmp_path / "bad.jsonl", [QUERIES[0], {"query": "x", "relevant": ["nowhere.jpg"]}])
    with pytest.raises(LibraryError, match=r"bad.jsonl:2: nowhere.jpg is not a photo of this library"):
        library.evaluation.queries(file=bad)
    with pytest.raises(LibraryError, match="unknown channel nope"):
        library.evaluation.run([], channels=["nope"])


@pytest.fixture
def captioned(tmp_path: Path, photo_copy: Path) -> tuple[Library, Path]:
    """Three photos in a scratch library, with a COCO-style file of three captions each."""
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "ocr"}))
    library.index([photo_copy])
    rows = [
        {
            "image": "photos/park/no-litter.jpg",
            "captions_en": [
                "A sign in a park asking people not to litter.",
                "Park sign: do not drop rubbish",
                "no littering notice among trees",
            ],
        },
        {
            "image": "photos/station/tokyo.jpg",
            "captions_en": [
                "A blue station sign for Tokyo Station.",
                "Tokyo railway station name board",
                "blue board at a train station",
            ],
        },
        {
            "image": "photos/games/card-game.png",
            "captions_en": [
                "A poster announcing a card game.",
                "playing cards event poster",
                "an announcement for a game of cards",
            ],
        },
    ]
    path = tmp_path / "captions.jsonl"
    write_queries(path, rows)
    return library, path


def test_known_caption_mode_and_tuning(captioned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    library, path = captioned
    queries, _ = library.evaluation.queries(known_captions=path, self_captions=True)
    known = [q for q in queries if q.protocol == "known-captions"]
    own = [q for q in queries if q.protocol == "captions"]
    assert len(known) == 6 and len(own) == 3  # two more captions per photo asked; the first was imported
    run = library.evaluation.run(queries)
    summary = run.summary(by=lambda q: q.protocol)
    assert summary["captions"]["caption"]["mrr"].mean == 1.0  # a caption finds itself by keywords
    assert summary["known-captions"]["caption_vector"]["mrr"].mean > 0.5

    tuned = tune(run, folds=3)
    assert tuned.held_out.n == len(queries) and len(tuned.folds) == 3
    config = tmp_path / "tuned.toml"
    config.write_text(tuned.toml(), encoding="utf-8")
    monkeypatch.setenv("SHASHIN_CONFIG", str(config))
    assert load_settings({}).search.rrf_k == tuned.chosen.k
    assert load_settings({}).search.adapt_words == tuned.chosen.adapt.words  # how weights follow each query
    assert tuned.to_dict()["chosen"]["adapt_meaning"] == tuned.chosen.adapt.meaning

    from shashin.evaluation.calibrate import calibrate_run

    calibrated = calibrate_run(run, folds=3)
    assert calibrated.held_out.matches == len(queries) and 0 <= calibrated.held_out.kept <= 1
    fitted = tmp_path / "calibration.json"
    calibrated.calibration.save(fitted)
    monkeypatch.setenv("SHASHIN_CONFIG", "")
    ours = Library(settings=load_settings({"db": str(library.path), "search.calibration": str(fitted)}))
    found = ours.search(queries[0].text, everything=True)
    assert found.results and all(0 <= r.relevance <= 1 for r in found.results)


def test_eval_command(indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    path = write_queries(tmp_path / "q.jsonl", QUERIES)
    document = json.loads(run_cli("eval", str(path), "--db", str(library.path), "--json", check=True).stdout)
    assert document["summary"]["fused"]["mrr"]["n"] == 4 and document["queries"] == 4
    text = run_cli("eval", str(path), "--db", str(library.path), "--report", str(tmp_path / "r"), check=True).stdout
    assert "fused" in text and "report written to" in text and (tmp_path / "r" / "report.html").exists()
    again = tmp_path / "r2"
    shutil.copytree(tmp_path / "r", again)
    same = run_cli(
        "eval", "--compare", str(tmp_path / "r" / "results.json"), str(again / "results.json"), check=True
    ).stdout
    assert "difference +0.000" in same and "0 better in B" in same
    missing = run_cli("eval", "--db", str(library.path))
    assert missing.returncode == 2 and "nothing to evaluate" in missing.stderr
    fitted = tmp_path / "calibration.json"
    calibrated = run_cli("eval", str(path), "--db", str(library.path), "--calibrate", str(fitted), check=True).stdout
    assert f"written to {fitted}" in calibrated and "search.calibration" in calibrated
    assert json.loads(fitted.read_text(encoding="utf-8"))["fitted_on"].startswith("4 evaluation queries")
