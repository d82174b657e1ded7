"""An index run says how long it will take before it starts, measures itself on its first photos,
and leaves its progress where `status` and the web read it while it runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tools.render import write_samples

from shashin import Library
from shashin.config import load_settings
from shashin.ingest.estimate import MEASURE_AFTER, PROGRESS_KEY, RunEstimate, describe_run, duration
from shashin.store import Store


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)


def test_durations_read_as_a_person_says_them() -> None:
    assert [duration(s) for s in (0.2, 40, 720, 11_400)] == ["1 s", "40 s", "12 min", "3 h 10 min"]


def test_an_index_run_plans_measures_and_remembers(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_samples(photos)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "ocr,labels"}))
    listener = Notes()
    library.index([photos], progress=listener)
    plan = next(n for n in listener.notes if "photos to index" in n)
    assert plan.startswith("9 photos to index (ocr 0.85 s, labels 0.012 s a photo)")  # nothing measured here yet
    assert "--channels" in plan
    meta = Store(library.path, create=False).meta_values()
    assert PROGRESS_KEY not in meta and library.status().indexing is None  # the run is over
    assert 0 < float(meta["channel.ocr.seconds_per_photo"]) < 30
    assert 0 < float(meta["channel.labels.seconds_per_photo"]) < float(meta["channel.ocr.seconds_per_photo"])
    # The next run's plan starts from what this machine measured.
    store = Store(library.path, create=False)
    again = RunEstimate.before(store, {"ocr": 100, "labels": 100}, 100)
    assert again.per_photo("ocr") == pytest.approx(float(meta["channel.ocr.seconds_per_photo"]), abs=1e-4)


def test_a_run_under_way_is_shown_by_status_and_a_stopped_one_says_so(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_samples(photos)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "labels"}))
    library.index([photos])
    store = Store(library.path, create=False)
    estimate = RunEstimate.before(store, {"labels": 1000}, 1000)
    estimate.record({"labels": 2.0}, {"labels": 100}, 100)
    estimate.publish(store, force=True)
    time.sleep(0.6)
    shown = library.status().indexing
    assert shown is not None and shown["done"] == 100 and shown["total"] == 1000
    assert describe_run(shown).startswith("indexing: 100 of 1,000 photos, about")
    assert "may have stopped" not in describe_run(shown)
    stale = {**shown, "updated": time.time() - 3600}
    store.set_meta(PROGRESS_KEY, json.dumps(stale))
    time.sleep(0.6)  # another process's write is seen within half a second (search.RECHECK_SECONDS)
    assert "may have stopped" in describe_run(library.status().indexing or {})
    assert "indexing: 100 of 1,000" in (library.home().indexing or "")


def test_the_estimate_follows_the_runs_own_pace_once_measured() -> None:
    class Nothing:
        def meta_values(self) -> dict[str, str]:
            return {}

    estimate = RunEstimate.before(Nothing(), {"ocr": 200}, 200)  # type: ignore[arg-type]
    assert estimate.remaining_seconds() == pytest.approx(200 * 0.85)
    estimate.started -= 10.0  # 10 s for the first photos
    assert estimate.record({"ocr": 9.0}, {"ocr": MEASURE_AFTER * 2}, MEASURE_AFTER * 2)  # now it is measured: say so
    assert not estimate.record({}, {}, 0)  # once
    pace = 10.0 / (MEASURE_AFTER * 2)
    assert estimate.remaining_seconds() == pytest.approx(pace * (200 - MEASURE_AFTER * 2), rel=0.05)
    assert estimate.per_photo("ocr") == pytest.approx(9.0 / (MEASURE_AFTER * 2))
