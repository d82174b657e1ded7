"""Property-based tests (Hypothesis): whatever a person types or a stranger's file holds, the query
parser, the query syntax, the XMP and Takeout readers and the web API's query parameters give a
result or a clear one-line error (a 4xx on the web) — never an exception, a 500 or a hang."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shashin import Library
from shashin.config import load_settings
from shashin.errors import UsageError
from shashin.metadata.kept import Kept
from shashin.metadata.takeout import read_takeout
from shashin.metadata.xmp import read_file
from shashin.search.logic import split_logic
from shashin.search.parse import parse_query

# What people type: words in both scripts, dates, places, operators, quotes, stray punctuation.
WORDS = st.sampled_from(
    [
        "cat", "dog", "OR", "NOT", "|", "または", "-", "-dog", '"wet floor"', "「足元注意」", "「", '"', "－犬",
        "2023", "July", "2023-07", "2023-13-45", "1999-02-30", "last", "year", "between", "and", "2020", "2010",
        "京都", "Kyoto", "in", "Tokyo", "near", "from", "to", "2025年9月", "昨年", "の", "猫", "犬", "★★★",
        "Ken", "健", "photos", "of", "at", "beach", "x" * 50, "\u3000", "\x00", "\n", "🐱", "Ｋｙｏｔｏ", "ｽﾏﾎ",
    ]
)  # fmt: skip
QUERIES = st.one_of(st.lists(WORDS, max_size=30).map(" ".join), st.text(max_size=300))


@pytest.fixture(scope="module", autouse=True)
def warm() -> None:
    """The gazetteer and the tokenizer load on first use: not a property of any query."""
    parse_query("cats in Kyoto July 2023 猫", today=date(2026, 12, 6))


@settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_any_query_parses_or_is_refused_in_one_line(text: str) -> None:
    from shashin.search.logic import check_query

    try:
        parsed = parse_query(text, today=date(2026, 12, 6), names=("Ken", "健", "Mia Tanaka"))
        logic = split_logic(text)
        check_query(text, max_chars=1000, max_alternatives=8, max_exclusions=8)
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert isinstance(parsed.text, str) and all(isinstance(b, str) for b in logic.branches)


# Values a stranger's JSON may hold where Takeout puts dates, places and people.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
TAKEOUT = st.fixed_dictionaries(
    {},
    optional={
        "title": JSON_VALUES | st.just("p.jpg"),
        "description": JSON_VALUES,
        "photoTakenTime": JSON_VALUES | st.fixed_dictionaries({"timestamp": JSON_VALUES}),
        "geoData": JSON_VALUES | st.fixed_dictionaries({"latitude": JSON_VALUES, "longitude": JSON_VALUES}),
        "people": JSON_VALUES | st.lists(st.fixed_dictionaries({"name": JSON_VALUES}), max_size=3),
    },
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=TAKEOUT | JSON_VALUES, raw=st.binary(max_size=200), as_bytes=st.booleans())
def test_any_takeout_json_is_read_or_noted(scratch: Path, document: object, raw: bytes, as_bytes: bool) -> None:
    path = scratch / "p.jpg.json"
    if as_bytes:
        path.write_bytes(raw)
    else:
        path.write_text(json.dumps(document, allow_nan=True), encoding="utf-8")
    kept = read_takeout(str(path), "p.jpg")
    assert isinstance(kept, Kept)
    assert all(isinstance(name, str) for name in kept.people)
    assert kept.latitude is None or -90 <= kept.latitude <= 90


XMP_FIELDS = st.sampled_from(
    ["dc:subject", "lr:hierarchicalSubject", "digiKam:TagsList", "xmp:Rating", "xmp:Label", "dc:title",
     "exif:DateTimeOriginal", "exif:GPSLatitude", "photoshop:City", "MicrosoftPhoto:Rating"]
)  # fmt: skip
XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&\x00"), max_size=30)


def _xmp(fields: list[tuple[str, list[str], int]]) -> str:
    body = ""
    for name, values, depth in fields:
        items = "".join(
            f"<rdf:li>{'<rdf:Bag><rdf:li>' * depth}{v}{'</rdf:li></rdf:Bag>' * depth}</rdf:li>" for v in values
        )
        body += f"<{name}><rdf:Bag>{items}</rdf:Bag></{name}>" if len(values) != 1 else f"<{name}>{values[0]}</{name}>"
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
        'xmlns:digiKam="http://www.digikam.org/ns/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:MicrosoftPhoto="http://ns.microsoft.com/photo/1.0/">'
        f'{body}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.lists(st.tuples(XMP_FIELDS, st.lists(XML_TEXT, max_size=4), st.integers(0, 80)), max_size=6),
    raw=st.binary(max_size=300),
    mangle=st.sampled_from(["none", "bytes", "cut"]),
)
def test_any_xmp_sidecar_is_read_or_noted(scratch: Path, fields: list, raw: bytes, mangle: str) -> None:  # type: ignore[type-arg]
    text = _xmp(fields).encode()
    data = {"none": text, "bytes": raw, "cut": text[: len(text) // 2]}[mangle]
    path = scratch / "p.xmp"
    path.write_bytes(data)
    kept = read_file(str(path), sidecar=True, origin="sidecar p.xmp")
    assert isinstance(kept, Kept)
    assert kept.rating is None or isinstance(kept.rating, int)
    assert all(isinstance(word, str) for word in (*kept.keywords, *kept.paths))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator:  # type: ignore[type-arg]
    import shutil

    from fastapi.testclient import TestClient

    from shashin.web import WebSettings, create_app
    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("api-properties")
    shutil.copytree(REPO / "samples", root / "photos")
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "phash"}))
    library.index([root / "photos"])
    library.tag(str(root / "photos" / "tokyo" / "station.jpg"), "add", ["train", "駅"])
    with TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1") as client:
        yield client


PARAMETER_VALUES = st.one_of(
    QUERIES,
    st.sampled_from(
        ["", "0", "-1", "5", "6", "abc", "nan", "inf", "1e309", "2023", "2023-02-30", "true", "Kyoto", "35.6,139.7"]
    ),
)
NAMES = st.sampled_from(
    ["q", "from", "to", "folder", "camera", "has_text", "near", "radius", "keyword", "rating", "label", "person",
     "sort", "limit", "offset", "facets", "literal", "min_score", "ui"]
)  # fmt: skip


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(NAMES, PARAMETER_VALUES), max_size=6), page=st.booleans())
def test_any_search_parameters_give_an_answer_or_a_clear_4xx(api, params: list[tuple[str, str]], page: bool) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/" if page else "/api/search", params=params)
    assert response.status_code in (200, 400, 404, 422), (params, response.status_code, response.text[:300])
    if response.status_code >= 400 and not page:
        message = response.json()["error"]
        assert message and "\n" not in message and "Traceback" not in message
