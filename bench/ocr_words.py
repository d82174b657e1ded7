"""Text in photos, hard cases: one word rendered into each coco-cc76 photo the way real signs defeat
OCR — small, at an angle, blurred, faint — or spelt the way OCR misreads (0 for O, 1 for l, rn for
m, 5 for S), then searched for by the word itself. Reports word-query R@1 and MRR (the photo holding
the word is the one relevant) and OCR seconds per photo, with the shipped settings or others.

    python bench/ocr_words.py                       # shipped settings
    python bench/ocr_words.py --set ocr.max_side=3000 --set search.ocr_tolerance=false

The photos are written under .bench/ocr-words (never into the repository); coco-cc76 stays as it is.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from tools.render import cjk_font_path

from shashin import Library
from shashin.config import load_settings
from shashin.evaluation.metrics import bootstrap, reciprocal_rank
from shashin.store import Store

REPO = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"  # Debian's fonts-dejavu-core; else the CJK font
WORDS = [  # one word per photo, so each query has one right answer
    "CAUTION",
    "STAGE",
    "EXIT",
    "PARKING",
    "BAKERY",
    "PHARMACY",
    "STATION",
    "MUSEUM",
    "TICKETS",
    "LIBRARY",
    "HOSPITAL",
    "FUSIONOPOLIS",
    "RESERVE",
    "CC22",
    "RE16",
    "ADHD",
    "GARDEN",
    "HARBOUR",
    "CINEMA",
    "MARKET",
    "PLATFORM",
    "BICYCLE",
    "THEATRE",
    "SCHOOL",
    "FERRY",
    "TAXI",
    "POLICE",
    "HOTEL",
    "BRIDGE",
    "GALLERY",
    "STADIUM",
    "CHURCH",
    "LAUNDRY",
    "BARBER",
    "FLORIST",
    "GROCERY",
    "PIZZERIA",
    "TRAMWAY",
    "ELEVATOR",
    "STAIRS",
    "BUTCHER",
    "CASHIER",
    "CHEMIST",
    "DENTIST",
    "EMBASSY",
    "FACTORY",
    "FOUNTAIN",
    "GARAGE",
    "JEWELLER",
    "KITCHEN",
    "LIGHTHOUSE",
    "MONASTERY",
    "NURSERY",
    "OBSERVATORY",
    "PAVILION",
    "QUARANTINE",
    "RECEPTION",
    "SAUNA",
    "TERMINAL",
    "UNIVERSITY",
    "VINEYARD",
    "WAREHOUSE",
    "YOGA",
    "ZOO",
    "AQUARIUM",
    "BOOKSHOP",
    "CHAPEL",
    "DISPENSARY",
    "ESCALATOR",
    "FIRESTATION",
    "GYMNASIUM",
    "HOSTEL",
    "INFIRMARY",
    "JUNCTION",
    "KIOSK",
    "LOCKSMITH",
    "MOTEL",
    "NOODLES",
    "ORCHARD",
]
KINDS = ("small", "angled", "blurred", "faint", "misread")
MISREADS = [("O", "0"), ("I", "1"), ("S", "5"), ("M", "RN"), ("B", "8"), ("E", "F"), ("A", "4")]


def misread(word: str, rng: random.Random) -> str:
    """The word as OCR might read it: one confusable letter swapped (the query stays the real word)."""
    options = [(a, b) for a, b in MISREADS if a in word[1:]] or [(word[-1], "Z" if word[-1] != "Z" else "X")]
    a, b = rng.choice(options)
    position = word.index(a, 1)
    return word[:position] + b + word[position + len(a) :]


def draw_word(photo: Image.Image, text: str, kind: str, rng: random.Random) -> Image.Image:
    """`photo` with `text` on a small plate somewhere on it, spoilt as `kind` says."""
    photo = photo.convert("RGB")
    if kind == "small":  # a larger photo, as phones take them, with a small plate in it
        photo = photo.resize((photo.width * 2, photo.height * 2), Image.Resampling.BICUBIC)
    width, height = photo.size
    size = {"small": max(10, height // 90), "angled": height // 14, "blurred": height // 14, "faint": height // 14}.get(
        kind, height // 16
    )
    font = ImageFont.truetype(FONT if Path(FONT).exists() else cjk_font_path(), size)
    box = ImageDraw.Draw(photo).textbbox((0, 0), text, font=font)
    plate = Image.new(
        "RGBA", (box[2] + size, box[3] + size), (235, 235, 230, 255) if kind != "faint" else (150, 150, 150, 255)
    )
    ink = (25, 25, 25, 255) if kind != "faint" else (118, 118, 118, 255)
    ImageDraw.Draw(plate).text((size // 2 - box[0], size // 2 - box[1]), text, font=font, fill=ink)
    if kind == "angled":
        plate = plate.rotate(rng.choice([-1, 1]) * rng.uniform(12, 20), expand=True, resample=Image.Resampling.BICUBIC)
    if kind == "blurred":
        plate = plate.filter(ImageFilter.GaussianBlur(size / 9))
    x = rng.randint(0, max(0, width - plate.width))
    y = rng.randint(0, max(0, height - plate.height))
    photo.paste(plate, (x, y), plate)
    return photo


def build(coco: Path, target: Path) -> list[dict[str, str]]:
    """Write the set (once): photos with words, and what to ask for each."""
    listing = target / "words.jsonl"
    if listing.exists():
        return [json.loads(line) for line in listing.read_text().splitlines()]
    rows = [json.loads(line) for line in (coco / "captions.jsonl").read_text().splitlines()]
    rng = random.Random(15)
    cases = []
    (target / "photos").mkdir(parents=True, exist_ok=True)
    for number, row in enumerate(rows):
        word = WORDS[number % len(WORDS)]
        kind = KINDS[number % len(KINDS)]
        shown = misread(word, rng) if kind == "misread" else word
        with Image.open(coco / row["image"]) as photo:
            image = draw_word(photo, shown, kind, rng)
        name = f"{number:02d}-{kind}.jpg"
        image.save(target / "photos" / name, quality=88)
        cases.append({"photo": name, "word": word, "shown": shown, "kind": kind})
    listing.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coco", default=str(REPO.parent / "shared/data/coco-cc76"))
    parser.add_argument("--out", default=str(REPO / ".bench" / "ocr-words"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for this run")
    args = parser.parse_args()
    out = Path(args.out)
    cases = build(Path(args.coco), out)
    overrides = dict(item.split("=", 1) for item in args.set)
    label = ",".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "shipped"
    db = out / ("db-" + "".join(ch if ch.isalnum() else "-" for ch in label))
    shutil.rmtree(db, ignore_errors=True)
    library = Library(settings=load_settings({"db": str(db), "channels": "ocr", **overrides}))
    started = time.perf_counter()
    report = library.index([out / "photos"])
    seconds = (time.perf_counter() - started) / max(report.photos_processed, 1)
    photo_of = {Path(path).name: row.photo_id for path, row in Store(db, create=False).files().items()}
    by_kind: dict[str, list[float]] = {}
    reciprocal: list[float] = []
    found_first: list[float] = []
    for case in cases:
        ranking = library.search(case["word"].lower(), limit=5, parse=False).ranking
        value = reciprocal_rank(ranking, {photo_of[case["photo"]]})
        reciprocal.append(value)
        found_first.append(float(value == 1.0))
        by_kind.setdefault(case["kind"], []).append(float(value == 1.0))
    print(
        f"{label}: word-query R@1 {bootstrap(found_first)}, MRR {bootstrap(reciprocal)}, "
        f"{seconds:.2f} s a photo to index ({report.photos_processed} photos)"
    )
    print("  R@1 by kind: " + ", ".join(f"{kind} {sum(v) / len(v):.2f}" for kind, v in by_kind.items()))
    misses = [c for c, v in zip(cases, found_first) if not v]
    print("  missed: " + ", ".join(f"{c['shown']} ({c['kind']})" for c in misses[:20]))


if __name__ == "__main__":
    main()
