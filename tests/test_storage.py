"""Local paths and object-storage URIs behind one API (the parts that need no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shashin import storage


def test_locations_are_told_apart_and_normalized(tmp_path: Path) -> None:
    assert storage.is_remote("s3://bucket/photos") and storage.is_remote("gs://b/p") and storage.is_remote("az://c/p")
    assert not storage.is_remote(str(tmp_path)) and not storage.is_remote("file:///tmp/x")
    assert storage.normalize("s3://bucket/photos/") == "s3://bucket/photos"
    assert storage.normalize("file:///tmp/a/../b") == "/tmp/b"
    with pytest.raises(storage.StorageError, match="unsupported storage scheme ftp://"):
        storage.normalize("ftp://host/x")
    with pytest.raises(storage.StorageError, match="no bucket given"):
        storage.normalize("s3://")


def test_paths_join_and_relate_the_same_way_on_both() -> None:
    assert storage.join("s3://b/lib", "thumbnails", "ab", "x.webp") == "s3://b/lib/thumbnails/ab/x.webp"
    assert storage.relative("s3://b/photos/2024/a.jpg", "s3://b/photos") == "2024/a.jpg"
    assert storage.inside("s3://b/photos/2024", "s3://b/photos") and not storage.inside(
        "s3://b/photos2", "s3://b/photos"
    )
    assert storage.basename("s3://b/p/a.jpg") == "a.jpg" and storage.parent("s3://b/p/a.jpg") == "s3://b/p"
    assert storage.inside("/a/b/c", "/a/b") and not storage.inside("/a/bc", "/a/b")


def test_local_files_read_write_and_delete(tmp_path: Path) -> None:
    target = str(tmp_path / "deep" / "x.bin")
    storage.write_bytes(target, b"abc")
    assert storage.read_bytes(target) == b"abc" and storage.size(target) == 3 and storage.exists(target)
    assert not (tmp_path / "deep" / "x.bin.part").exists()  # written through a temporary, renamed over
    assert storage.is_folder(str(tmp_path / "deep")) and not storage.is_empty_folder(str(tmp_path))
    storage.delete(target)
    storage.delete(target)  # gone already: fine
    assert not storage.exists(target) and storage.is_empty_folder(str(tmp_path / "deep"))
    with pytest.raises(FileNotFoundError):
        storage.size(target)
