"""A library like a user's, built once per test session: many kinds of photos (JPEG, PNG, WebP, GIF,
TIFF, HEIC, a RAW), with and without dates and GPS, keywords from two apps (Lightroom's embedded
IPTC/XMP and digiKam's sidecars), hierarchical tags and ratings, a Google Takeout folder (with a
hostile JSON), imported captions in English and Japanese, a person's captions and tags, faces with
named people (from ../shared/data/faces-pd when present), real photos with their photographers'
Flickr keywords (../shared/data/coco-cc76 when present), a duplicate, unreadable files and hostile
sidecars (a FIFO, /dev/zero, a 2 GB sparse JSON, one photo.xmp shared by two photos).

Every interface is run against it by the tests beside this module; the point is the mix, not any
one feature's fixture."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyexiv2
from PIL import Image
from tools.render import Sign, save

from shashin import Library
from shashin.config import load_settings
from tests.conftest import COCO, FACES_PD, REPO
from tests.ingest.raw_files import write_dng
from tests.metadata.files import EXIFTOOL, exiftool

FACES = FACES_PD / "images"
# COCO photos: these three carry their photographers' Flickr keywords (embedded IPTC/XMP); nine
# more are taken as they come.
COCO_KEYWORDED = ("000000433998.jpg", "000000511599.jpg", "000000577932.jpg")
COCO_MORE = 9
FACE_PHOTOS = (
    "obama_portrait_2012.jpg",
    "obama_congress_2009.jpg",
    "biden_blue_room_2010.jpg",
    "obama_biden_blue_room_2010_composite.jpg",
    "as11-44-6555_earthrise.jpg",
)
_EMPTY_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>\n'
)


@dataclass
class UserLibrary:
    """The built library: its photo folder, its settings, the Library, and paths by their role."""

    photos: Path
    settings: dict[str, Any]
    library: Library
    config: Path  # the settings as a settings file (what SHASHIN_CONFIG names)
    roles: dict[str, Path] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)  # names given to face groups
    coco: bool = False  # the COCO photos are in it
    faces: bool = False  # the faces-pd photos are in it

    @property
    def db(self) -> Path:
        return Path(self.settings["db"])

    def path(self, role: str) -> str:
        return str(self.roles[role])

    def photo_id(self, role: str) -> str:
        found = self.library.photo_id(self.path(role))
        assert found, f"{role} ({self.roles[role]}) is not a photo of the library"
        return found


def build(root: Path, image_model: Path) -> UserLibrary:
    """Write the photos under root/Photos and index them into root/db with OCR, faces, perceptual
    hashes and a tiny SigLIP2 image model (random weights: the paths, not the quality)."""
    photos = root / "Photos"
    roles: dict[str, Path] = {}
    shutil.copytree(REPO / "samples", photos / "samples")
    roles["park_sign"] = photos / "samples/tokyo/2024-04-03_park-sign.jpg"
    roles["heic"] = photos / "samples/beach/open-sign.heic"
    coco = (COCO / "images").is_dir()
    if coco:
        more = [p.name for p in sorted((COCO / "images").glob("*.jpg")) if p.name not in COCO_KEYWORDED][:COCO_MORE]
        _copy(COCO / "images", photos / "flickr", (*COCO_KEYWORDED, *more))
        roles["flickr_keywords"] = photos / "flickr" / COCO_KEYWORDED[0]
    faces = FACES.is_dir()
    if faces:
        _copy(FACES, photos / "people", FACE_PHOTOS)
        roles["obama"] = photos / "people" / FACE_PHOTOS[0]
        roles["biden"] = photos / "people" / FACE_PHOTOS[2]
        if EXIFTOOL:  # a name another app gave a face: Lightroom's MWG region
            exiftool(
                roles["biden"],
                "-XMP-mwg-rs:RegionInfo={RegionList=[{Area={X=0.62,Y=0.17,W=0.37,H=0.17,Unit=normalized},"
                "Name=Joe Biden,Type=Face}]}",
            )
    roles |= _apps(photos)
    roles |= _takeout(photos / "Takeout" / "Google Photos" / "Trip to Nara")
    roles |= _odd_and_bad(photos, roles["park_sign"])
    settings = {
        "db": str(root / "db"),
        "channels": "ocr,image,phash,faces",
        "image.model": str(image_model),
    }
    # The same settings as a user's settings file, for the command line (SHASHIN_CONFIG).
    (root / "config.toml").write_text(
        f'db = "{root / "db"}"\nchannels = ["ocr", "image", "phash", "faces"]\n\n[image]\nmodel = "{image_model}"\n',
        encoding="utf-8",
    )
    library = Library(settings=load_settings(settings))
    library.index([photos])
    built = UserLibrary(photos, settings, library, root / "config.toml", roles, coco=coco, faces=faces)
    _words_of_a_person(built, root)
    return built


def _copy(source: Path, target: Path, names: tuple[str, ...] | list[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(source / name, target / name)


def _write_xmp(path: Path, xmp: dict[str, Any], iptc: dict[str, Any] | None = None) -> Path:
    """Fields written as photo apps write them (pyexiv2: exiv2, as Lightroom's XMP and IPTC)."""
    if path.suffix == ".xmp" and not path.exists():
        path.write_text(_EMPTY_XMP, encoding="utf-8")
    with pyexiv2.Image(str(path)) as image:
        image.modify_xmp(xmp)
        if iptc:
            image.modify_iptc(iptc)
    return path


def _apps(photos: Path) -> dict[str, Path]:
    """Keywords kept by two apps: Lightroom embeds IPTC + XMP with hierarchies, ratings, labels;
    digiKam writes sidecars (photo.jpg.xmp and photo.xmp)."""
    roles = {}
    temple = save(
        Sign(["清水寺", "KIYOMIZU"], seed=31, exif={"taken_at": "2023:11:03 09:15:00", "gps": (34.9949, 135.785)}),
        photos / "lightroom" / "kiyomizu.jpg",
    )
    _write_xmp(
        temple,
        {
            "Xmp.dc.subject": ["Kyoto", "お寺", "autumn"],
            "Xmp.lr.hierarchicalSubject": ["Places|Japan|Kyoto", "Seasons|Autumn"],
            "Xmp.xmp.Rating": "4",
            "Xmp.xmp.Label": "Red",
            "Xmp.dc.title": {'lang="x-default"': "Kiyomizu-dera in autumn"},
        },
        {"Iptc.Envelope.CharacterSet": "\x1b%G", "Iptc.Application2.Keywords": ["Kyoto", "お寺", "autumn"]},
    )
    roles["lightroom"] = temple
    castle = save(Sign(["大阪城", "OSAKA CASTLE"], seed=32), photos / "lightroom" / "osaka-castle.jpg")  # no date
    _write_xmp(
        castle,
        {"Xmp.dc.subject": ["Osaka", "castle"], "Xmp.lr.hierarchicalSubject": ["Places|Japan|Osaka"]},
        {"Iptc.Envelope.CharacterSet": "\x1b%G", "Iptc.Application2.Keywords": ["Osaka", "castle"]},
    )
    roles["undated_keywords"] = castle
    wedding = save(Sign(["WELCOME", "祝 結婚"], seed=33), photos / "digikam" / "wedding.jpg")
    _write_xmp(
        Path(f"{wedding}.xmp"),
        {
            "Xmp.digiKam.TagsList": ["Events/Wedding/Reception", "People/Family"],
            "Xmp.lr.hierarchicalSubject": ["Events|Wedding|Reception"],
            "Xmp.dc.subject": ["Reception", "Family"],
            "Xmp.xmp.Rating": "5",
        },
    )
    roles["digikam"] = wedding
    party = save(Sign(["PARTY"], seed=34), photos / "digikam" / "party.png")
    _write_xmp(photos / "digikam" / "party.xmp", {"Xmp.dc.subject": ["party"], "Xmp.xmp.Rating": "2"})
    roles["digikam_stem"] = party
    twin_jpeg = save(Sign(["TWIN"], seed=35), photos / "shared" / "a.jpg")
    save(Sign(["TWIN"], seed=36), photos / "shared" / "a.png")
    _write_xmp(photos / "shared" / "a.xmp", {"Xmp.dc.subject": ["whose-is-this"]})
    roles["shared_sidecar"] = twin_jpeg
    roles["no_phones"] = save(Sign(["スマホ 歩き禁止", "NO PHONES"], seed=37), photos / "undated" / "phones.jpg")
    roles["exit"] = save(Sign(["出口", "EXIT"], seed=38), photos / "undated" / "exit.webp")
    return roles


def _takeout(folder: Path) -> dict[str, Path]:
    """Google Takeout: photos without EXIF, their JSON beside them (date, place, people), an edited
    copy sharing the original's JSON, and two JSONs a stranger's tool wrote."""
    roles = {}
    first = save(Sign(["奈良公園", "NARA PARK"], seed=41), folder / "IMG_0001.jpg")
    meta = {
        "title": "IMG_0001.jpg",
        "description": "鹿と一緒に",
        "photoTakenTime": {"timestamp": "1555555555"},
        "geoData": {"latitude": 34.6851, "longitude": 135.8430},
        "people": [{"name": "Hanako Yamada"}],
    }
    (folder / "IMG_0001.jpg.supplemental-metadata.json").write_text(json.dumps(meta, ensure_ascii=False))
    save(Sign(["奈良公園", "NARA PARK", "edited"], seed=42), folder / "IMG_0001-edited.jpg")
    roles["takeout"] = first
    deep = save(Sign(["DEEP"], seed=43), folder / "IMG_0002.jpg")
    (folder / "IMG_0002.jpg.json").write_text(
        '{"title": "IMG_0002.jpg", "people": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    roles["takeout_deep"] = deep
    typed = save(Sign(["TYPED"], seed=44), folder / "IMG_0003.jpg")
    (folder / "IMG_0003.jpg.json").write_text(json.dumps({"title": "IMG_0003.jpg", "people": 5, "geoData": [1]}))
    roles["takeout_typed"] = typed
    return roles


def _odd_and_bad(photos: Path, park_sign: Path) -> dict[str, Path]:
    """A RAW, a duplicate and a resized copy, unreadable files and hostile sidecars."""
    roles = {}
    rng = np.random.default_rng(5)
    rgb = (rng.random((120, 160, 3)) * 0.8 + 0.1).astype(np.float32)
    (photos / "raw").mkdir(parents=True)
    roles["raw"] = write_dng(
        photos / "raw" / "DSC_0001.dng",
        rgb,
        exif={
            "Exif.Image.Make": "Nikon",
            "Exif.Image.Model": "NIKON Z 6",
            "Exif.Photo.DateTimeOriginal": "2022:05:01 12:00:00",
        },
    )
    (photos / "dupes").mkdir(parents=True)
    roles["duplicate"] = Path(shutil.copy2(park_sign, photos / "dupes" / "park-sign-copy.jpg"))
    with Image.open(park_sign) as image:
        image.resize((image.width // 2, image.height // 2)).save(photos / "dupes" / "park-sign-small.jpg", quality=85)
    roles["resized"] = photos / "dupes" / "park-sign-small.jpg"
    broken = photos / "broken"
    broken.mkdir()
    (broken / "truncated.jpg").write_bytes(park_sign.read_bytes()[:2000])
    (broken / "notes.jpg").write_bytes(b"shopping list: milk, eggs\n" * 20)
    (broken / "empty.jpg").write_bytes(b"")
    roles["broken"] = broken / "truncated.jpg"
    hostile = photos / "hostile"
    roles["fifo_sidecar"] = save(Sign(["FIFO"], seed=51), hostile / "fifo.jpg")
    os.mkfifo(hostile / "fifo.xmp")
    roles["zero_sidecar"] = save(Sign(["ZERO"], seed=52), hostile / "zero.jpg")
    (hostile / "zero.jpg.xmp").symlink_to("/dev/zero")
    roles["sparse_json"] = save(Sign(["SPARSE"], seed=53), hostile / "big.jpg")
    with open(hostile / "big.jpg.json", "wb") as handle:
        handle.truncate(2 << 30)
    return roles


def _words_of_a_person(built: UserLibrary, root: Path) -> None:
    """What a person adds after indexing: captions imported in both languages, their own captions
    and tags, and a name for a face group."""
    library = built.library
    rows = [
        {"path": built.path("lightroom"), "text": "A red temple gate among autumn maples in Kyoto.", "lang": "en"},
        {"path": built.path("lightroom"), "text": "京都の紅葉と赤い寺の門。", "lang": "ja"},
        {"path": built.path("takeout"), "text": "Deer resting on the grass in Nara Park.", "lang": "en"},
        {"path": built.path("takeout"), "text": "奈良公園の芝生で休む鹿。", "lang": "ja"},
        {"path": built.path("digikam"), "text": "A welcome board at a wedding reception.", "lang": "en"},
    ]
    captions = root / "captions.jsonl"
    captions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    library.import_captions(captions)
    library.set_caption(built.path("lightroom"), "清水寺の舞台から見た紅葉", lang="ja")
    library.set_caption(built.path("no_phones"), "A sign asking people not to walk while using phones.")
    library.tag(built.path("lightroom"), "add", ["family trip", "お気に入り"])
    library.tag(built.path("lightroom"), "remove", ["autumn"])
    library.tag(built.path("takeout"), "add", ["family trip"])
    if built.faces:
        obama = library.photo_id(built.path("obama"))
        groups = [
            p
            for p in library.people.all()
            if obama and any(f["person_id"] == p.person_id for f in library.people.faces(obama))
        ]
        if groups:
            library.people.name(groups[0].person_id, "Barack Obama")
            built.people.append("Barack Obama")
        if any(p.name == "Joe Biden" for p in library.people.all()):
            built.people.append("Joe Biden")
