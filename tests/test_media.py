from pathlib import Path

import pytest
from PIL import Image
from tools.render import Sign, save

from shashin.media import MaxSide, MediaError, RenditionError, decode_photo, hash_file, is_supported
from tests.badfiles import png_bomb

LIMITS = {"max_pixels": 50_000_000, "renditions": {"ocr": MaxSide(640)}, "thumbnail_size": 128}


@pytest.mark.parametrize("suffix", ["jpg", "png", "webp", "gif", "tiff", "heic"])
def test_every_supported_format_decodes(tmp_path: Path, suffix: str) -> None:
    path = save(Sign(["HELLO"], size=(800, 400)), tmp_path / f"photo.{suffix}")
    photo = decode_photo(str(path), "id", **LIMITS)
    assert (photo.metadata.width, photo.metadata.height) == (800, 400)
    assert photo.renditions["ocr"].shape == (320, 640, 3) and photo.renditions["ocr"].dtype.name == "uint8"
    assert Image.open(__import__("io").BytesIO(photo.thumbnail)).size == (128, 64)


@pytest.mark.parametrize("suffix", ["jpg", "webp", "heic"])
def test_exif_orientation_is_applied(tmp_path: Path, suffix: str) -> None:
    sign = Sign(["UP"], size=(800, 400), orientation=6)
    path = save(sign, tmp_path / f"rotated.{suffix}")
    if suffix == "jpg":
        with Image.open(path) as stored:
            assert stored.size == (400, 800)  # stored sideways, as a camera held upright writes it
    photo = decode_photo(str(path), "id", **LIMITS)
    assert (photo.metadata.width, photo.metadata.height) == (800, 400)
    assert photo.renditions["ocr"].shape[:2] == (320, 640)


def test_date_gps_and_camera_are_read(tmp_path: Path) -> None:
    exif = {
        "camera_make": "Canon",
        "camera_model": "Canon EOS R6",
        "taken_at": "2023:07:15 10:20:30",
        "gps": (-33.8568, 151.2153),
    }
    photo = decode_photo(str(save(Sign(["X"], exif=exif), tmp_path / "a.jpg")), "id", **LIMITS)
    meta = photo.metadata
    assert meta.taken_at is not None and meta.taken_at.isoformat() == "2023-07-15T10:20:30"
    assert meta.camera_make == "Canon" and meta.camera_model == "Canon EOS R6"
    assert meta.latitude == pytest.approx(-33.8568, abs=1e-4) and meta.longitude == pytest.approx(151.2153, abs=1e-4)


def test_heic_metadata_is_read(tmp_path: Path) -> None:
    photo = decode_photo(
        str(save(Sign(["X"], exif={"taken_at": "2024:01:02 03:04:05"}), tmp_path / "a.heic")), "id", **LIMITS
    )
    assert photo.metadata.format == "HEIF"
    assert photo.metadata.taken_at is not None and photo.metadata.taken_at.year == 2024


def test_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 32), color) for color in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    photo = decode_photo(str(path), "id", **LIMITS)
    assert tuple(photo.renditions["ocr"][0, 0]) == (255, 0, 0)


def test_transparent_png_gets_a_white_background(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(path)
    assert tuple(decode_photo(str(path), "id", **LIMITS).renditions["ocr"][5, 5]) == (255, 255, 255)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"hello world, not a photo" * 10, "not a readable image"),
        (b"<!DOCTYPE html><html></html>", "HTML page"),
        (b"%PDF-1.7 ...", "PDF"),
        (png_bomb(), "decompression bombs"),
    ],
)
def test_bad_content_gives_a_clear_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=reason):
        decode_photo(str(path), "id", **LIMITS)


def test_truncated_jpeg(tmp_path: Path) -> None:
    good = save(Sign(["X"]), tmp_path / "good.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(MediaError, match="truncated"):
        decode_photo(str(path), "id", **LIMITS)


def test_bomb_limit_is_configurable(tmp_path: Path) -> None:
    path = save(Sign(["X"], size=(800, 400)), tmp_path / "a.png")
    with pytest.raises(MediaError, match="raise max_image_pixels"):
        decode_photo(str(path), "id", max_pixels=100_000)


def test_hash_is_content_only(tmp_path: Path) -> None:
    a = save(Sign(["X"]), tmp_path / "a.jpg")
    b = tmp_path / "elsewhere" / "b.jpg"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    assert hash_file(a) == hash_file(b) and len(hash_file(a)) == 32
    with pytest.raises(MediaError, match="cannot read"):
        hash_file(tmp_path / "missing.jpg")


def test_supported_suffixes() -> None:
    assert all(is_supported(n) for n in ["a.JPG", "b.jpeg", "c.HEIC", "d.tif", "e.webp", "f.gif", "g.png"])
    assert not any(is_supported(n) for n in ["a.mp4", "b.txt", "c.xmp", "noext"])


def test_a_failing_rendition_costs_only_its_channel(tmp_path: Path) -> None:
    class Broken:
        draft_side = 64

        def render(self, image: Image.Image) -> None:
            raise ValueError("model input failed")

    path = save(Sign(["X"]), tmp_path / "a.png")
    photo = decode_photo(str(path), "id", max_pixels=10**8, renditions={"ocr": MaxSide(100), "other": Broken()})
    assert photo.renditions["ocr"].shape[1] == 100
    assert photo.renditions["other"] == RenditionError("ValueError: model input failed")
    assert photo.thumbnail == b""  # none asked for


def test_float_and_32_bit_tiffs_are_not_black(tmp_path: Path) -> None:
    """Scientific and HDR exports store samples as floats in 0-1 or as 32-bit integers."""
    import io

    import numpy as np

    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (64, 1))
    Image.fromarray(ramp, mode="F").save(tmp_path / "float.tif")
    Image.fromarray((ramp * 70_000).astype(np.int32), mode="I").save(tmp_path / "int32.tif")
    for name in ("float.tif", "int32.tif"):
        photo = decode_photo(str(tmp_path / name), "id", **LIMITS)
        with Image.open(io.BytesIO(photo.thumbnail)) as thumbnail:
            row = np.asarray(thumbnail.convert("L"))[10]
        assert row[0] < 10 and row[-1] > 245, name  # the ramp survives: black to white


@pytest.mark.parametrize(
    ("offset", "kept"),
    [
        ("+09:00", "+09:00"),
        ("-05:30", "-05:30"),
        ("+14:00", "+14:00"),
        ("+99:99", None),
        ("+15:00", None),
        ("09:00", None),
        ("+9:00", None),
    ],
)
def test_only_real_utc_offsets_are_kept(tmp_path: Path, offset: str, kept: str | None) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9011] = offset
    Image.new("RGB", (32, 32)).save(tmp_path / "photo.jpg", exif=exif.tobytes())
    assert decode_photo(str(tmp_path / "photo.jpg"), "id", **LIMITS).metadata.utc_offset == kept


def test_refusals_say_what_the_file_is_without_quoting_it(tmp_path: Path) -> None:
    from shashin.media import NotAPhoto

    (tmp_path / "notes.jpg").write_text("password=hunter2\n" * 10)
    with pytest.raises(NotAPhoto, match="the file is text, not a photo") as refused:
        hash_file(tmp_path / "notes.jpg")
    assert "hunter2" not in str(refused.value)
    (tmp_path / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(MediaError, match="starts like a PNG image, but its data is damaged"):
        decode_photo(str(tmp_path / "damaged.png"), "id", **LIMITS)
    with open(tmp_path / "movie.jpg", "wb") as handle:
        handle.truncate(4 * 1024**3)  # sparse: no disk used, and refused after its first megabyte
    with pytest.raises(NotAPhoto, match="not JPEG, PNG"):
        hash_file(tmp_path / "movie.jpg")
