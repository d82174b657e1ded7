"""Captioning a real library through an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shashin import Library
from shashin.config import load_settings
from shashin.store import Store
from tests.conftest import run_cli
from tests.fake_vlm_server import CAPTIONS, FakeVLMServer, Script

COLOURS = {"car.jpg": (200, 30, 30), "boat.jpg": (30, 60, 200), "forest.png": (30, 160, 60)}


@pytest.fixture
def colour_photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        pixels = np.clip(np.array(colour) + rng.normal(0, 12, (300, 400, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / name)
    return folder


def library_for(db: Path, url: str, **extra: object) -> Library:
    settings = load_settings(
        {
            "db": str(db),
            "channels": "phash",
            "captions.backend": "openai",
            "captions.url": url,
            "captions.model": "auto",
            **extra,
        }
    )
    return Library(settings=settings)


@pytest.fixture
def indexed_db(tmp_path: Path, colour_photos: Path) -> Path:
    db = tmp_path / "db"
    Library(settings=load_settings({"db": str(db), "channels": "phash"})).index([colour_photos])
    return db


def test_captions_are_written_with_provenance_and_found_in_both_languages(
    indexed_db: Path, colour_photos: Path
) -> None:
    with FakeVLMServer() as server:
        report = library_for(indexed_db, server.url).caption()
    assert (report.written, report.failed, report.model) == (6, 0, "fake-vlm")
    assert report.embedded == 6
    rows = Store(indexed_db, create=False).captions()
    red = next(r for r in rows if r["lang"] == "ja" and "スポーツカー" in r["text"])
    assert red["source"] == "generated" and red["backend"] == "openai" and red["model"] == "fake-vlm"
    assert red["prompt"] == "この画像を日本語で一文で説明してください。"
    assert json.loads(red["params"]) == {"max_new_tokens": 64, "temperature": 0.0}
    assert red["created_at"] is not None and red["status"] == "done"

    library = Library(indexed_db)
    english = library.search("sports car").results[0]
    assert english.path == str(colour_photos / "car.jpg") and "caption" in english.channels
    assert any(h.field == "caption (en)" for h in english.highlights)
    japanese = library.search("スポーツカー").results[0]
    assert japanese.path == str(colour_photos / "car.jpg") and "caption" in japanese.channels


def test_a_japanese_query_finds_an_english_caption_by_meaning(indexed_db: Path, colour_photos: Path) -> None:
    with FakeVLMServer() as server:
        library_for(indexed_db, server.url, **{"captions.langs": "en"}).caption()
    response = Library(indexed_db).search("海を走る船")
    top = response.results[0]
    assert top.path == str(colour_photos / "boat.jpg")
    # By meaning, and by keyword through the English words JMdict gives for 海 and 船 (sea, boat).
    assert "caption_vector" in top.channels and "caption" in top.channels and not top.channels["caption"].exact
    assert top.highlights[0].text == CAPTIONS[(30, 60, 200)][0]


def test_reruns_skip_done_captions_and_a_new_prompt_redoes_them(indexed_db: Path) -> None:
    with FakeVLMServer() as server:
        library_for(indexed_db, server.url).caption()
        again = library_for(indexed_db, server.url).caption()
        assert (again.written, again.skipped) == (0, 6)
        changed = library_for(indexed_db, server.url, **{"captions.prompts": "brief.en=Say what you see."}).caption()
        assert (changed.written, changed.skipped) == (3, 3)
        assert server.script.requests[-1]["messages"][0]["content"][1]["text"] == "Say what you see."


def test_a_looping_caption_is_retried_with_a_penalty(indexed_db: Path) -> None:
    with FakeVLMServer(Script(actions=deque([("loop",)]))) as server:
        report = library_for(indexed_db, server.url, **{"captions.langs": "en", "captions.concurrency": 1}).caption()
    assert (report.written, report.failed, report.retried) == (3, 0, 1)
    penalised = [r for r in server.script.requests if "frequency_penalty" in r]
    assert len(penalised) == 1


def test_looping_output_never_reaches_the_index(indexed_db: Path, colour_photos: Path) -> None:
    with FakeVLMServer(Script(loop_always=True, loop_even_with_penalty=True)) as server:
        result = run_cli(
            "caption", "--db", str(indexed_db), "--backend", "openai", "--url", server.url, "--lang", "en", "--json"
        )
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["written"] == 0 and report["failed"] == 3 and report["retried"] == 3
    assert all("repeats" in f["reason"] and "retry" in f["reason"] for f in report["failures"])
    library = Library(indexed_db)
    assert library.search("Types").results == []
    status = library.status()
    assert sum(1 for f in status.failures if f.channel.startswith("caption")) == 3
    assert status.captions[0].failed == 3 and status.captions[0].done == 0


def test_human_captions_are_never_replaced(indexed_db: Path) -> None:
    store = Store(indexed_db)
    photo_id = sorted(store.photo_ids())[0]
    store.put_captions(
        [
            {
                "caption_id": f"{photo_id}:brief:en",
                "photo_id": photo_id,
                "prompt_set": "brief",
                "lang": "en",
                "text": "My grandmother's car.",
                "raw": "My grandmother's car.",
                "terms": "my grandmother s car",
                "status": "done",
                "error": None,
                "source": "human",
                "backend": "human",
                "model": "",
                "prompt": "",
                "params": "{}",
                "version": "human",
            }
        ]
    )
    with FakeVLMServer() as server:
        report = library_for(indexed_db, server.url, **{"captions.langs": "en"}).caption()
    assert (report.written, report.kept_human) == (2, 1)
    kept = Store(indexed_db, create=False).captions(caption_id=f"{photo_id}:brief:en")[0]
    assert kept["text"] == "My grandmother's car." and kept["source"] == "human"


def test_unreachable_server_is_a_clear_error(indexed_db: Path) -> None:
    result = run_cli("caption", "--db", str(indexed_db), "--backend", "openai", "--url", "http://127.0.0.1:9/v1")
    assert result.returncode == 1 and "cannot reach the caption server" in result.stderr


def test_limit_and_detailed_prompt_set(indexed_db: Path) -> None:
    with FakeVLMServer() as server:
        report = library_for(
            indexed_db, server.url, **{"captions.prompt_set": "detailed", "captions.langs": "ja"}
        ).caption(limit=2)
        assert report.written == 2
        assert server.script.requests[0]["max_tokens"] == 256
        assert (
            server.script.requests[0]["messages"][0]["content"][1]["text"]
            == "この画像を日本語で詳しく説明してください。"
        )
    kinds = {(c.prompt_set, c.lang): c.done for c in Library(indexed_db).status().captions}
    assert kinds == {("detailed", "ja"): 2}


def test_a_pool_of_servers_shares_the_work_and_skips_a_dead_one(indexed_db: Path, colour_photos: Path) -> None:
    with FakeVLMServer() as first, FakeVLMServer() as second:
        dead = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        report = library_for(indexed_db, f"{first.url}, {second.url},{dead}", **{"captions.concurrency": 1}).caption()
    assert (report.written, report.failed) == (6, 0)
    served = [len(first.script.requests), len(second.script.requests)]
    assert sum(served) == 6 and min(served) >= 1  # both replicas captioned
    assert Library(indexed_db).search("sports car").results[0].path == str(colour_photos / "car.jpg")


def test_a_replica_dying_mid_run_sends_its_photos_to_the_others(indexed_db: Path) -> None:
    with FakeVLMServer() as healthy:
        broken = FakeVLMServer(Script(deque([("status", 503)] * 50)))
        with broken:
            report = library_for(indexed_db, f"{broken.url},{healthy.url}", **{"captions.retries": 2}).caption()
    assert (report.written, report.failed) == (6, 0)


def test_a_hostile_caption_server_costs_single_captions_never_the_run(indexed_db: Path) -> None:
    """Answers that are a number, an object, 900 KB of text or a dripping trickle each fail one
    caption; the raw answer kept for review is capped; the other captions are written."""
    long_text = " ".join(f"word{i}" for i in range(150_000))[:900_000]
    # English: a number, an object, 900 KB of text twice (its retry too); Japanese: a trickle.
    actions = deque([("content", 42), ("content", {"a": 1}), ("text", long_text), ("text", long_text), ("drip", 0.05)])
    with FakeVLMServer(Script(actions=actions)) as server:
        report = library_for(
            indexed_db,
            server.url,
            **{
                "captions.concurrency": 1,
                "captions.timeout": 1.0,
                "captions.batch_size": 8,
                "captions.retries": 0,
                "captions.langs": "en,ja",
            },
        ).caption()
    assert report.written + report.failed == 6 and report.failed == 4 and report.unavailable is None
    reasons = " | ".join(f.reason for f in report.failures)
    assert "holds no text" in reasons and "characters long" in reasons and "no complete answer within 1 s" in reasons
    rows = Store(indexed_db, create=False).captions()
    assert max(len(row["raw"]) for row in rows) <= 8_000
    assert sum(row["status"] == "done" for row in rows) == 2


def test_context_tells_the_model_the_date_place_folder_and_people(tmp_path: Path) -> None:
    """`caption --context`: the prompt carries what the library knows; it is stored with the caption,
    and a caption whose context changed (a person named since) is written again, the others kept."""
    from tools.render import Sign, save

    trip = tmp_path / "photos" / "Summer trip"
    save(Sign(["BEACH"], exif={"taken_at": "2023:07:14 10:30:00", "gps": (35.3125, 139.5369)}), trip / "beach.jpg")
    save(Sign(["HOME"], seed=3), trip / "home.jpg")  # no date, no GPS: its folder is all it has
    takeout = trip / "beach.jpg.json"
    takeout.write_text(json.dumps({"title": "beach.jpg", "people": [{"name": "Ken"}]}))
    db = tmp_path / "db"
    Library(settings=load_settings({"db": str(db), "channels": "phash"})).index([trip.parent])
    with FakeVLMServer() as server:
        library = library_for(db, server.url, **{"captions.context": True})
        report = library.caption()
        assert report.written == 4
        prompts = {
            next(p["text"] for p in r["messages"][0]["content"] if p["type"] == "text") for r in server.script.requests
        }
        english = next(p for p in prompts if "Ken" in p and "日本語" not in p)
        assert english.startswith("Describe this image in one sentence.")
        assert "taken 14 July 2023" in english and "Kamakura" in english
        assert "folder named “Summer trip”" in english and "people in it: Ken" in english
        japanese = next(p for p in prompts if "Ken" in p and "日本語" in p)
        assert "撮影日 2023年7月14日" in japanese and "フォルダ「Summer trip」" in japanese
        home = next(p for p in prompts if "HOME" not in p and "Ken" not in p and "日本語" not in p)
        assert "Summer trip" in home and "taken" not in home
        stored = {r["prompt"] for r in Store(db, create=False).captions()}
        assert english in stored  # provenance: the prompt as asked, context included
        assert library.caption().written == 0  # same context: nothing to do
        takeout.write_text(json.dumps({"title": "beach.jpg", "people": [{"name": "Ken"}, {"name": "Mia"}]}))
        Library(settings=load_settings({"db": str(db), "channels": "phash"})).index()
        again = library.caption()
        assert again.written == 2 and again.skipped == 2  # the beach photo, in en and ja
        plain = library_for(db, server.url).caption()  # without --context: the plain prompt, due again
        assert plain.written == 4
