"""Photos whose metadata is written by Debian's exiftool in the forms photo apps use."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="needs exiftool (apt install libimage-exiftool-perl)")

# Lightroom Classic: IPTC and XMP keywords, hierarchical subjects, title, rating, label, MWG face regions.
LIGHTROOM = [
    "-codedcharacterset=utf8",
    "-IPTC:Keywords=Kyoto",
    "-IPTC:Keywords=お寺",
    "-XMP-dc:Subject=Kyoto",
    "-XMP-dc:Subject=お寺",
    "-XMP-lr:HierarchicalSubject=Places|Japan|Kyoto",
    "-XMP-dc:Title=Golden Pavilion at dawn",
    "-XMP-xmp:Rating=4",
    "-XMP-xmp:Label=Red",
    "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=400,H=300,Unit=pixel},RegionList=["
    "{Area={X=0.5,Y=0.5,W=0.2,H=0.3,Unit=normalized},Name=Hanako Yamada,Type=Face},"
    "{Area={X=0.9,Y=0.9,W=0.1,H=0.1,Unit=normalized},Name=Pochi,Type=Pet}]}",
]
# digiKam: TagsList with "/" levels, hierarchical subjects, MWG regions.
DIGIKAM = [
    "-XMP-digiKam:TagsList=Events/Wedding/Reception",
    "-XMP-lr:HierarchicalSubject=Events|Wedding|Reception",
    "-XMP-dc:Subject=Reception",
    "-XMP-xmp:Rating=5",
    "-XMP-mwg-rs:RegionInfo={RegionList=[{Area={X=0.3,Y=0.4,W=0.2,H=0.2,Unit=normalized},Name=Taro Suzuki,Type=Face}]}",
]
# Picasa / Windows Photo Gallery: IPTC keywords, Microsoft regions and rating percent, IPTC place.
PICASA = [
    "-codedcharacterset=utf8",
    "-IPTC:Keywords=picnic",
    "-IPTC:ObjectName=Sunday picnic",
    "-XMP-microsoft:RatingPercent=75",
    "-XMP-microsoft:LastKeywordXMP=Family/Picnic",
    "-XMP-mediapro:CatalogSets=Albums|Best of 2023",
    "-XMP-MP:RegionInfoMP={Regions=[{PersonDisplayName=Jiro Sato,Rectangle=0.1|, 0.2|, 0.3|, 0.4}]}",
    "-IPTC:City=Osaka",
    "-IPTC:Country-PrimaryLocationName=Japan",
]


def photo(path: Path, colour: tuple[int, int, int] = (40, 120, 200), size: tuple[int, int] = (400, 300)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, quality=90)
    return path


def exiftool(target: Path, *arguments: str) -> Path:
    """Write tags into `target`, a photo or an existing sidecar."""
    assert EXIFTOOL
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", *arguments, str(target)], check=True, capture_output=True)
    return target


def sidecar(target: Path, *arguments: str) -> Path:
    """A new XMP sidecar (photo.xmp or photo.jpg.xmp) holding these tags."""
    assert EXIFTOOL
    subprocess.run([EXIFTOOL, "-q", *arguments, "-o", str(target)], check=True, capture_output=True)
    return target


def read_tags(path: Path, *tags: str) -> dict[str, object]:
    """What exiftool reads from a file: the named tags (e.g. XMP-dc:Subject), lists as lists."""
    import json

    assert EXIFTOOL
    result = subprocess.run(
        [EXIFTOOL, "-j", "-G1", *[f"-{t}" for t in tags], str(path)], capture_output=True, text=True, check=True
    )
    return {k: v for k, v in json.loads(result.stdout)[0].items() if k != "SourceFile"}
