"""Reading kept metadata (XMP/IPTC keywords, ratings, regions; Takeout JSON) against an OCR index run.

One run, side by side, on a temporary copy of coco-cc76 in which every photo gets what a photo
app leaves: an XMP sidecar with 20 hierarchical keywords, a title, a rating and two MWG face
regions, and every other photo a Google Takeout JSON:

1. `shashin index --channels ocr` of the copy: the whole run, which includes reading the metadata;
2. within that run, the metadata phase alone (every photo read for the first time);
3. an index run with nothing changed (what every later run pays: listings and signatures only);
4. one sidecar edited: what re-reading it costs;
then the same on --many small photos indexed for perceptual hashes only (what the metadata phase
costs per photo when the library is large and the models are cheap).

Goal (issue 18): reading metadata adds at most 10 % to the OCR index run.

    python bench/bench_metadata.py [--photos ../shared/data/coco-cc76/images] [--many 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "data" / "coco-cc76"


_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmp:Rating="{rating}" xmp:Label="{label}">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Photo number {number}</rdf:li></rdf:Alt></dc:title>
<dc:subject><rdf:Bag>{subjects}</rdf:Bag></dc:subject>
<lr:hierarchicalSubject><rdf:Bag>{paths}</rdf:Bag></lr:hierarchicalSubject>
<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>{regions}</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""
_REGION = (
    '<rdf:li rdf:parseType="Resource"><mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>'
    '<mwg-rs:Area stArea:x="{x}" stArea:y="0.4" stArea:w="0.1" stArea:h="0.15" stArea:unit="normalized"/></rdf:li>'
)


def dress(folder: Path) -> int:
    """Give every photo a sidecar (as Lightroom writes one) and every other one a Takeout JSON."""
    photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for number, image in enumerate(photos):
        words = [f"word{number}-{k}" for k in range(20)]
        image.with_suffix(".xmp").write_text(
            _XMP.format(
                rating=number % 6,
                label="Red" if number % 3 else "Green",
                number=number,
                subjects="".join(f"<rdf:li>{w}</rdf:li>" for w in words),
                paths="".join(f"<rdf:li>Trips|Year {2000 + number % 20}|{w}</rdf:li>" for w in words),
                regions="".join(_REGION.format(name=n, x=x) for n, x in (("Hanako Yamada", 0.3), ("Taro Suzuki", 0.6))),
            ),
            encoding="utf-8",
        )
        if number % 2 == 0:
            (image.parent / f"{image.name}.supplemental-metadata.json").write_text(
                json.dumps(
                    {
                        "title": image.name,
                        "photoTakenTime": {"timestamp": str(1_600_000_000 + number * 86400)},
                        "people": [{"name": "Ken Tanaka"}],
                    }
                ),
                encoding="utf-8",
            )
    return len(photos)


def measure(folder: Path, db: Path, channels: str) -> dict[str, float]:
    """Index `folder`, then again unchanged, then after one sidecar edit; the metadata phase of each
    run timed inside it."""
    from shashin import Library
    from shashin.channels import metadata as metadata_channel
    from shashin.config import load_settings
    from shashin.metadata.sync import sync_metadata

    library = Library(settings=load_settings({"db": str(db), "channels": channels}))
    spent: list[float] = []

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return sync_metadata(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    metadata_channel.sync_metadata = timed  # the metadata phase of the very same runs, timed
    figures: dict[str, float] = {}
    try:
        for name in ("first", "unchanged", "one edit"):
            if name == "one edit":
                edited = next(folder.rglob("*.xmp"))
                edited.write_text(edited.read_text(encoding="utf-8").replace("-0<", "-edited<"), encoding="utf-8")
            started = time.perf_counter()
            report = library.index([folder])
            figures[name] = time.perf_counter() - started
            figures[f"{name} metadata"] = spent[-1]
            figures[f"{name} read"] = report.channels["metadata"].refreshed
            figures[f"{name} decoded"] = report.photos_processed
    finally:
        metadata_channel.sync_metadata = sync_metadata
    return figures


def report(title: str, count: int, figures: dict[str, float], goal: bool) -> None:
    first, alone = figures["first"], figures["first metadata"]
    print(f"{title}: {count} photos (each with an XMP sidecar, half with a Takeout JSON)")
    print(f"  first index run, metadata included: {first:8.2f} s")
    print(f"  its metadata phase:                 {alone:8.2f} s  ({alone / count * 1000:.2f} ms per photo)")
    if goal:
        print(f"  share added to the run:             {alone / (first - alone) * 100:7.1f} %  (goal: at most 10 %)")
    for name in ("unchanged", "one edit"):
        print(
            f"  index run, {name + ':':<24} {figures[name]:8.2f} s  (metadata {figures[name + ' metadata']:.2f} s: "
            f"{figures[name + ' read']:.0f} read, {figures[name + ' decoded']:.0f} photos decoded)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT / "images" if (DEFAULT / "images").is_dir() else DEFAULT)
    parser.add_argument("--many", type=int, default=5000, help="Also: this many small photos, indexed for pHash only.")
    arguments = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    work = Path(tempfile.mkdtemp(prefix="shashin-bench-metadata-"))
    try:
        folder = work / "photos"
        shutil.copytree(arguments.photos, folder)
        count = dress(folder)
        report("coco-cc76, OCR", count, measure(folder, work / "db", "ocr"), goal=True)
        if arguments.many:
            from PIL import Image

            many = work / "many"
            for number in range(arguments.many):
                target = many / f"folder{number // 500:03d}" / f"IMG_{number:05d}.jpg"
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (64, 48), (number % 256, number // 256 % 256, 90)).save(target, quality=80)
            dress(many)
            report(
                f"{arguments.many} small photos, pHash only",
                arguments.many,
                measure(many, work / "db-many", "phash"),
                goal=False,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
