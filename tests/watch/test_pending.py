"""When a changed path is ready to index, and which folders are polled."""

from __future__ import annotations

from pathlib import Path

from shashin.watch.mounts import file_system, needs_polling
from shashin.watch.pending import Pending, wanted


def test_a_file_still_being_written_waits_and_a_finished_one_goes(tmp_path: Path) -> None:
    growing, done, gone = tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "c.jpg"
    growing.write_bytes(b"x" * 10)
    done.write_bytes(b"y" * 10)
    pending = Pending(settle=1.0)
    pending.add({str(growing), str(done), str(gone)}, now=100.0)
    assert pending.ready(now=100.5) == [str(gone)]  # deleted: nothing to wait for
    growing.write_bytes(b"x" * 20)  # the copy goes on
    assert pending.ready(now=101.2) == [str(done)]
    assert len(pending) == 1 and pending.ready(now=101.9) == []  # changed at 101.2: settles from then
    assert pending.ready(now=102.3) == [str(growing)] and len(pending) == 0


def test_folders_are_ready_at_once_and_only_photos_sidecars_and_folders_count(tmp_path: Path) -> None:
    folder = tmp_path / "trip"
    folder.mkdir()
    pending = Pending(settle=5.0)
    pending.add({str(folder)}, now=1.0)
    assert pending.ready(now=1.0) == [str(folder)]
    assert wanted(str(tmp_path / "IMG_1.JPG")) and wanted(str(tmp_path / "IMG_1.xmp"))
    assert wanted(str(tmp_path / "IMG_1.jpg.supplemental-metadata.json")) and wanted(str(folder))
    assert not wanted(str(tmp_path / "notes.txt")) and not wanted(str(tmp_path / ".IMG_1.jpg.swp"))


def test_network_mounts_are_polled(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\nnas:/photos /mnt/nas nfs4 rw 0 0\n//server/share /mnt/smb\\040share cifs rw 0 0\n"
    )
    assert file_system("/mnt/nas/2024/trip", str(mounts)) == "nfs4"
    assert file_system("/mnt/smb share/x", str(mounts)) == "cifs"
    assert file_system("/home/me/Pictures", str(mounts)) == "ext4"
    assert "nfs4" in (needs_polling("/mnt/nas/2024", str(mounts)) or "")
    assert needs_polling("/mnt/nasty", str(mounts)) is None  # a longer name is not under /mnt/nas
