import os
from pathlib import Path

import pyarrow as pa
import pytest

from shashin.store import ErrorRow, FileRow, Store, StoreBusy, StoreError, schema


def test_new_library_records_schema_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    assert store.get_meta("schema_version") == str(schema.SCHEMA_VERSION)
    assert Store(tmp_path / "db", create=False).count_photos() == 0


def test_missing_library_is_not_created_by_readers(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no shashin library"):
        Store(tmp_path / "nothing", create=False)
    assert not (tmp_path / "nothing").exists()


def test_refuses_a_folder_that_is_not_a_library(tmp_path: Path) -> None:
    (tmp_path / "Photos").mkdir()
    (tmp_path / "Photos" / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(StoreError, match="not a shashin library"):
        Store(tmp_path / "Photos")


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.set_meta("schema_version", str(schema.SCHEMA_VERSION + 1))
    with pytest.raises(StoreError, match="newer shashin"):
        Store(tmp_path / "db")


def test_files_photos_and_orphans(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put_photos(
        [
            {"photo_id": "p1", "width": 10, "height": 5, "format": "JPEG"},
            {"photo_id": "p2", "width": 1, "height": 1, "format": "PNG"},
        ]
    )
    store.save_thumbnail("p2", b"webp")
    assert store.thumbnail("p2") == b"webp" and store.thumbnail("p1") is None
    store.put_files([FileRow("/a/it's.jpg", "p1", "/a", 3, 4, "it s"), FileRow("/a/b.png", "p2", "/a", 1, 2, "b png")])
    assert set(store.files()) == {"/a/it's.jpg", "/a/b.png"}  # quotes in paths are escaped
    assert store.get_photos(["p1"])["p1"]["width"] == 10
    store.delete_files(["/a/b.png"])
    assert store.delete_orphan_photos() == ["p2"]
    assert store.photo_ids() == {"p1"}
    assert store.thumbnail("p2") is None and not os.path.exists(store.thumbnail_location("p2"))


def test_errors_replace_by_path(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put_errors([ErrorRow("/a/x.jpg", "/a", "decode", "first")])
    store.put_errors([ErrorRow("/a/x.jpg", "/a", "decode", "second", 3, 4)])
    [error] = store.errors()
    assert (error.message, error.size) == ("second", 3)


def test_channel_table_is_rebuilt_when_its_layout_changes(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.ensure_channel("demo", [pa.field("text", pa.string())], fts=("text",))
    store.put_channel_rows(
        "demo", [{"photo_id": "p1", "version": "v1", "status": "done", "error": None, "text": "hello world"}]
    )
    assert store.channel_states("demo") == {"p1": ("v1", "done")}
    assert [p for p, *_ in store.search_channel("demo", "text", ["hello"], limit=5)] == ["p1"]
    store.ensure_channel("demo", [pa.field("text", pa.string())], fts=("text",))  # same layout: kept
    assert store.channel_states("demo")
    store.ensure_channel("demo", [pa.field("text", pa.string()), pa.field("extra", pa.int32())])
    assert store.channel_states("demo") == {}


def test_full_text_all_and_any(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.ensure_channel("demo", [pa.field("terms", pa.string())], fts=("terms",))
    rows = [("p1", "no litter"), ("p2", "no phones"), ("p3", "car park"), ("p4", "card game")]
    store.put_channel_rows(
        "demo", [{"photo_id": p, "version": "v", "status": "done", "error": None, "terms": t} for p, t in rows]
    )
    store.put_channel_rows(
        "demo", [{"photo_id": "p5", "version": "v", "status": "failed", "error": "x", "terms": "no litter"}]
    )
    assert {p for p, *_ in store.search_channel("demo", "terms", ["no"], limit=10)} == {
        "p1",
        "p2",
    }  # failed rows are not searched
    assert [p for p, *_ in store.search_channel("demo", "terms", ["no", "litter"], limit=10, require_all=True)] == [
        "p1"
    ]
    assert [p for p, *_ in store.search_channel("demo", "terms", ["car"], limit=10)] == ["p3"]  # never "card"


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    first, second = Store(tmp_path / "db"), Store(tmp_path / "db")
    with first.writer(), pytest.raises(StoreBusy, match="another shashin process"), second.writer():
        pass
    with second.writer():
        pass


def test_interrupted_creation_is_finished_on_next_open(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store._table("meta").delete("key = 'schema_version'")  # as if killed before the last write
    # A reader does not finish it (the creator may still be at work: two creators would conflict).
    with pytest.raises(StoreError, match="not finished"):
        Store(tmp_path / "db", create=False)
    assert store.get_meta("schema_version") is None
    reopened = Store(tmp_path / "db")
    assert reopened.get_meta("schema_version") == str(schema.SCHEMA_VERSION)
    assert reopened.count_photos() == 0


def test_a_version_5_library_keeps_its_faces_and_takes_descriptors_of_any_length(tmp_path: Path) -> None:
    """Schema 6: the faces table held dlib's 128 numbers only; ArcFace gives 512. Names stay."""
    import pyarrow as pa

    store = Store(tmp_path / "db")
    store._db.drop_table("faces")
    fixed = pa.schema(
        [f if f.name != "descriptor" else pa.field("descriptor", pa.list_(pa.float32(), 128)) for f in schema.FACES]
    )
    old = store._db.create_table("faces", schema=fixed)
    face = {
        "face_id": "p1:0",
        "photo_id": "p1",
        "n": 0,
        "box": [0.1, 0.1, 0.2, 0.2],
        "score": 1.0,
        "size": 50,
        "sharpness": 90.0,
        "descriptor": [0.5] * 128,
        "version": "dlib",
        "person_id": "ken",
        "source": "confirmed",
        "created_at": None,
    }
    old.add([face])
    store.set_meta("schema_version", "5")
    migrated = Store(tmp_path / "db")
    assert migrated.get_meta("schema_version") == "6"
    [kept] = migrated.all_rows("faces")
    assert kept["person_id"] == "ken" and kept["source"] == "confirmed" and kept["descriptor"] == [0.5] * 128
    migrated.put_rows("faces", [{**face, "face_id": "p2:0", "photo_id": "p2", "descriptor": [0.1] * 512}])
    assert sorted(len(r["descriptor"]) for r in migrated.all_rows("faces")) == [128, 512]


def test_a_version_1_library_gains_the_captions_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put_photos([{"photo_id": "p1", "width": 1, "height": 1, "format": "PNG"}])
    store._db.drop_table("captions")  # as a library written by schema 1 was
    store.set_meta("schema_version", "1")
    migrated = Store(tmp_path / "db")
    assert migrated.get_meta("schema_version") == str(schema.SCHEMA_VERSION) == "6"
    assert migrated.all_rows("tags") == []  # schema 4: a person's tags
    assert migrated.all_rows("faces") == [] == migrated.all_rows("people")  # schema 5: people
    assert migrated.captions() == [] and migrated.photo_ids() == {"p1"}
    migrated.put_captions(
        [
            {
                "caption_id": "p1:brief:en",
                "photo_id": "p1",
                "prompt_set": "brief",
                "lang": "en",
                "text": "a dog",
                "raw": "a dog",
                "terms": "a dog",
                "status": "done",
                "error": None,
                "source": "imported",
                "backend": "import",
                "model": "x",
                "prompt": "",
                "params": "{}",
                "version": "import:x",
            }
        ]
    )
    assert migrated.search_captions(["dog"], limit=5)[0][:2] == ("p1:brief:en", "p1")
