"""Reading kept metadata (XMP/IPTC keywords, ratings, regions; Takeout JSON) against an OCR index run.

One run, side by side, on a temporary copy of coco-cc76 in which every photo gets what a photo
app leaves: an XMP sidecar with 20 hierarchical keywords, a title, a rating and two MWG face
regions, and every other photo a Google Takeout JSON:

1. `shashin index --channels ocr` of the copy: the whole run, which includes reading the metadata;
2. within that run, the metadata phase alone (every photo read for the first time);
3. an index run with nothing changed (what every later run pays: listings and signatures only);
4. one sidecar edited: what re-reading it costs.

Goal (issue 18): reading metadata adds at most 10 % to the OCR index run.

    python bench/bench_metadata.py [--photos ../shared/data/coco-cc76/images]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT / "images" if (DEFAULT / "images").is_dir() else DEFAULT)
    arguments = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from shashin import Library
    from shashin.channels import metadata as metadata_channel
    from shashin.config import load_settings
    from shashin.metadata.sync import sync_metadata

    work = Path(tempfile.mkdtemp(prefix="shashin-bench-metadata-"))
    try:
        folder = work / "photos"
        shutil.copytree(arguments.photos, folder)
        count = dress(folder)
        library = Library(settings=load_settings({"db": str(work / "db"), "channels": "ocr"}))
        spent: list[float] = []

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return sync_metadata(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)

        metadata_channel.sync_metadata = timed  # the metadata phase of the very same run, timed
        started = time.perf_counter()
        report = library.index([folder])
        whole = time.perf_counter() - started
        metadata_channel.sync_metadata = sync_metadata
        assert report.channels["metadata"].refreshed == count, report.channels["metadata"]
        alone = sum(spent)
        started = time.perf_counter()
        unchanged = library.index([folder])
        idle = time.perf_counter() - started
        assert unchanged.channels["metadata"].refreshed == 0
        edited = next(folder.rglob("*.xmp"))
        edited.write_text(edited.read_text(encoding="utf-8").replace("word0-0", "edited"), encoding="utf-8")
        started = time.perf_counter()
        again = library.index([folder])
        one = time.perf_counter() - started
        assert again.channels["metadata"].refreshed == 1 and again.photos_processed == 0

        ocr_only = whole - alone
        print(f"photos: {count} (each with an XMP sidecar, half with a Takeout JSON)")
        print(f"OCR index run, metadata included:   {whole:7.2f} s")
        print(f"metadata reading alone:             {alone:7.2f} s  ({alone / count * 1000:.1f} ms per photo)")
        print(f"share added to the OCR run:         {alone / ocr_only * 100:6.1f} %  (goal: at most 10 %)")
        print(f"index run with nothing changed:     {idle:7.2f} s")
        print(
            f"index run after one sidecar edit:   {one:7.2f} s  (no model ran: {again.photos_processed} photos decoded)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
