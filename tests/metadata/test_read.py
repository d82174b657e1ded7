"""Kept metadata read from real files written by exiftool as Lightroom, digiKam and Picasa write
them: embedded and in both sidecar names, MWG and Microsoft regions, and bad metadata."""

from __future__ import annotations

from pathlib import Path

from shashin.metadata.kept import Facts, Kept, facet
from shashin.metadata.sources import Folders, PhotoFile, read_photo, signature
from tests.metadata.files import DIGIKAM, LIGHTROOM, PICASA, exiftool, needs_exiftool, photo, sidecar

pytestmark = needs_exiftool


def read(path: Path) -> Kept:
    return read_photo([PhotoFile(str(path), "content")], Folders())


def test_lightroom_fields_embedded(tmp_path: Path) -> None:
    kept = read(exiftool(photo(tmp_path / "kinkaku.jpg"), *LIGHTROOM))
    assert kept.keywords == ("Kyoto", "お寺")
    assert kept.paths == ("Places|Japan|Kyoto",)
    assert kept.title == "Golden Pavilion at dawn"
    assert (kept.rating, kept.label) == (4, "Red")
    hanako, pochi = kept.regions
    assert hanako.name == "Hanako Yamada" and hanako.is_person
    assert hanako.box == (0.4, 0.35, 0.2, 0.3)  # MWG centre x, y → left, top
    assert pochi.kind == "Pet" and not pochi.is_person
    assert kept.names() == ["Hanako Yamada"] and not kept.notes


def test_digikam_sidecar_and_picasa_microsoft_regions(tmp_path: Path) -> None:
    wedding = photo(tmp_path / "wedding.jpg")
    sidecar(tmp_path / "wedding.xmp", *DIGIKAM)
    kept = read(wedding)
    assert "Events|Wedding|Reception" in kept.paths  # digiKam's "/" levels read as "|"
    assert kept.levels()[:1] == ["Reception"] and {"Events", "Wedding"} <= set(kept.levels())
    assert kept.rating == 5 and kept.names() == ["Taro Suzuki"]
    assert kept.sources == ("sidecar wedding.xmp", "embedded in wedding.jpg")

    picnic = read(exiftool(photo(tmp_path / "picnic.jpg"), *PICASA))
    assert picnic.keywords == ("picnic",) and picnic.paths == ("Family|Picnic", "Albums|Best of 2023")
    assert picnic.title == "Sunday picnic"
    assert picnic.rating == 4  # Windows' 75 %
    [jiro] = picnic.regions
    assert jiro.name == "Jiro Sato" and jiro.box == (0.1, 0.2, 0.3, 0.4)
    assert dict(picnic.location) == {"city": "Osaka", "country": "Japan"}


def test_a_sidecar_wins_over_embedded_fields_and_both_names_are_read(tmp_path: Path) -> None:
    image = exiftool(
        photo(tmp_path / "a.jpg"), "-XMP-xmp:Rating=2", "-XMP-dc:Title=Embedded title", "-XMP-dc:Subject=inside"
    )
    sidecar(tmp_path / "a.jpg.xmp", "-XMP-xmp:Rating=5", "-XMP-dc:Subject=outside")
    kept = read(image)
    assert kept.rating == 5 and kept.keywords == ("outside",)  # the sidecar's, as darktable and digiKam read it
    assert kept.title == "Embedded title"  # a field the sidecar does not have stays


def test_a_changed_sidecar_changes_the_signature(tmp_path: Path) -> None:
    image = photo(tmp_path / "a.jpg")
    files = [PhotoFile(str(image), "content")]
    before = signature(files, Folders())
    sidecar(tmp_path / "a.xmp", "-XMP-dc:Subject=new")
    assert signature(files, Folders()) != before
    assert signature(files, Folders()) == signature(files, Folders())


def test_bad_metadata_gives_notes_and_keeps_what_it_can(tmp_path: Path) -> None:
    image = photo(tmp_path / "bad.jpg")
    (tmp_path / "bad.xmp").write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><broken', encoding="utf-8")
    kept = read(image)
    assert kept.keywords == () and any("sidecar bad.xmp" in note and "cannot be read" in note for note in kept.notes)

    latin = exiftool(
        photo(tmp_path / "latin.jpg"), "-charset", "iptc=Latin", "-IPTC:Keywords=Café", "-IPTC:City=Zürich"
    )
    kept = read(latin)
    assert kept.keywords == ("Café",) and dict(kept.location)["city"] == "Zürich"
    assert any("not UTF-8" in note for note in kept.notes)

    many = photo(tmp_path / "many.jpg")
    words = tmp_path / "words.txt"
    words.write_text("".join(f"-XMP-dc:Subject=word{n}\n" for n in range(10_000)), encoding="utf-8")
    sidecar(tmp_path / "many.xmp", "-@", str(words))  # beyond what one JPEG XMP block holds
    kept = read(many)
    assert len(kept.keywords) == 1000 and any("10000 keywords" in note for note in kept.notes)

    outside = exiftool(
        photo(tmp_path / "outside.jpg"),
        "-XMP-mwg-rs:RegionInfo={RegionList=[{Area={X=1.5,Y=1.5,W=0.2,H=0.2,Unit=normalized},Name=Nobody,Type=Face},"
        "{Area={X=0.95,Y=0.5,W=0.2,H=0.2,Unit=normalized},Name=Edge,Type=Face}]}",
        "-XMP-xmp:Rating=9",
    )
    kept = read(outside)
    nobody, edge = kept.regions
    assert nobody.box is None and edge.box == (0.85, 0.4, 0.15, 0.2)  # clipped to the photo
    assert kept.rating is None
    assert any("outside the photo" in note for note in kept.notes) and any(
        "not a rating" in note for note in kept.notes
    )


def test_facts_search_text_and_filter_tokens(tmp_path: Path) -> None:
    kept = read(exiftool(photo(tmp_path / "kinkaku.jpg"), *LIGHTROOM))
    facts = Facts(kept)
    assert "Places Japan Kyoto" in facts.text() and "Hanako Yamada" in facts.text() and "Pochi" in facts.text()
    tokens = facts.facets().split()
    for keyword in ("kyoto", "Places", "places|japan", "Places|Japan|Kyoto", "お寺"):
        assert facet("k", keyword) in tokens
    assert facet("k", "Japan|Kyoto") not in tokens  # a path matches from its root
    assert facet("p", "hanako") in tokens and facet("p", "yamada") in tokens and facet("p", "pochi") not in tokens
    assert {"r1", "r4"} <= set(tokens) and "r5" not in tokens and facet("l", "red") in tokens
    assert kept.without_own("shashin|tags") == kept
    own = Kept(keywords=("dog", "Kyoto"), paths=("shashin|tags|dog", "Places|Japan|Kyoto"))
    assert own.without_own("shashin|tags") == Kept(keywords=("Kyoto",), paths=("Places|Japan|Kyoto",))


def test_round_trip_through_the_stored_form(tmp_path: Path) -> None:
    kept = read(exiftool(photo(tmp_path / "picnic.jpg"), *PICASA))
    assert Kept.from_dict(kept.to_dict()) == kept
