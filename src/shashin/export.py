"""Alt text and descriptions written where other tools read them: IPTC accessibility fields.

Per photo, in each requested language with text: "Alt Text (Accessibility)"
(Iptc4xmpCore:AltTextAccessibility) from the brief caption, "Extended Description (Accessibility)"
(Iptc4xmpCore:ExtDescrAccessibility) from the detailed caption and the text read in the photo,
and dc:description; each a language alternative with x-default = the first language given.
A person's caption wins over a generated one everywhere.

Formats: XMP sidecars (merged into existing ones), embedded in the photo (explicit request only,
verified on a copy first, original kept), CSV, JSON, HTML snippets.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import html
import io
import json
import os
import shutil
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shashin import storage
from shashin.alttext import alt_text
from shashin.errors import ShashinError
from shashin.media import owns_stem_sidecar
from shashin.metadata.sources import Folders, stem_sharers
from shashin.untrusted import MAX_SIDECAR_BYTES

FORMATS = ("xmp", "embed", "csv", "json", "html")
ALT = "Xmp.iptc.AltTextAccessibility"
EXTENDED = "Xmp.iptc.ExtDescrAccessibility"
DESCRIPTION = "Xmp.dc.description"
BACKUP_FOLDER = ".shashin-backup"  # hidden: the scanner never indexes it
_EMPTY_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>\n'
)


class ExportError(ShashinError, RuntimeError):
    """A photo or sidecar could not be written; the message names the file and why."""


class XmpRecord(Protocol):
    """What is written into one photo or its sidecar: the photo, and the XMP fields to set (a
    value of None removes a field)."""

    photo_id: str
    path: str

    def fields(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AltRecord:
    """What is exported for one photo: alt text and extended description per language."""

    photo_id: str
    path: str
    root: str
    alt: dict[str, str]  # lang -> alt text (≤ 125 characters)
    extended: dict[str, str] = field(default_factory=dict)  # lang -> longer description
    human: bool = False  # some of it was written by a person

    def fields(self) -> dict[str, dict[str, str]]:
        """The XMP fields as pyexiv2 language alternatives, x-default first."""
        result = {ALT: _lang_alt(self.alt), DESCRIPTION: _lang_alt(self.alt)}
        if self.extended:
            result[EXTENDED] = _lang_alt(self.extended)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo_id": self.photo_id,
            "path": self.path,
            "alt_text": self.alt,
            "extended_description": self.extended,
            "edited_by_a_person": self.human,
        }


def _lang_alt(texts: dict[str, str]) -> dict[str, str]:
    first = next(iter(texts.values()))
    return {'lang="x-default"': first, **{f'lang="{lang}"': text for lang, text in texts.items()}}


def build_record(
    photo_id: str, path: str, root: str, captions: Sequence[dict[str, Any]], ocr_text: str | None, langs: Sequence[str]
) -> AltRecord | None:
    """The record for one photo, or None when it has neither caption nor text in it. A language
    gets alt text from its brief caption (else its detailed one, shortened), and an extended
    description from its detailed caption and the OCR text; a photo with only OCR text gets alt
    text from that in every language (`ocr_text`: what text.readable keeps of it)."""
    done = [c for c in captions if c.get("status") == "done" and c.get("text")]
    ocr = " / ".join(line.strip() for line in (ocr_text or "").splitlines() if line.strip())
    alt: dict[str, str] = {}
    extended: dict[str, str] = {}
    for lang in langs:
        brief = [c for c in done if c["lang"] == lang and c["prompt_set"] == "brief"]
        detailed = [c for c in done if c["lang"] == lang and c["prompt_set"] == "detailed"]
        if not brief and not detailed:
            continue
        alt[lang] = alt_text(brief or detailed, None, os.path.basename(path), lang)
        parts = [_best(detailed)["text"]] if detailed else []
        if ocr:
            parts.append(("写真の文字: " if lang == "ja" else "Text in the photo: ") + ocr)
        if parts:
            extended[lang] = " ".join(parts)
    if not alt and ocr:  # only text is known: every language says it, each in its own words
        alt = {lang: alt_text([], ocr_text, os.path.basename(path), lang) for lang in langs}
    if not alt:
        return None
    human = any(c.get("source") == "human" for c in done if c["lang"] in langs)
    return AltRecord(photo_id, path, root, alt, extended, human)


def _best(captions: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(captions, key=lambda c: c.get("source") != "human")[0]


# ---------------------------------------------------------------------- XMP sidecars


def sidecar_path(photo: str, root: str, out: Path | None, folders: Folders | None = None) -> Path:
    """Where a photo's sidecar goes: next to it as photo.xmp (the name Lightroom, Capture One and
    exiftool read; an existing photo.jpg.xmp is used instead), or mirrored under `out`. When other
    photos share the stem (a.jpg and a.png) and this one does not own photo.xmp (see
    metadata.sources.owns_stem_sidecar), it is photo.jpg.xmp: one sidecar never holds two photos.
    `folders` lists each folder once for many photos."""
    if storage.is_remote(photo):
        if out is None:
            raise ExportError(
                f"{photo}: photos on object storage get their sidecars under --out DIR "
                "(or export --format csv/json/html)"
            )
        mirrored = out / storage.relative(photo, storage.parent(root))
    else:
        source = Path(photo)
        if out is None:
            existing = Path(f"{photo}.xmp")
            if existing.is_file():
                return existing
            mirrored = source
        else:
            try:
                mirrored = out / source.relative_to(Path(root).parent)
            except ValueError:
                mirrored = out / source.name
    if owns_stem_sidecar(storage.basename(photo), stem_sharers(photo, folders)):
        return mirrored.with_suffix(".xmp")
    return mirrored.with_name(mirrored.name + ".xmp")


def write_sidecar(record: XmpRecord, target: Path) -> None:
    """Write (or merge into) an XMP sidecar: other fields already in it are kept."""
    import pyexiv2

    _check_sidecar(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text(_EMPTY_XMP, encoding="utf-8")
        with pyexiv2.Image(str(target)) as sidecar:
            sidecar.modify_xmp(record.fields())
    except (OSError, RuntimeError) as exc:
        raise ExportError(f"{target}: cannot write the sidecar: {exc}") from exc


def _check_sidecar(target: Path) -> None:
    """A sidecar already there is written only when it is a regular file of a sidecar's size: a
    FIFO would block the export forever, a device or a huge file has no XMP of ours to merge."""
    try:
        info = target.stat()
    except FileNotFoundError:
        if target.is_symlink():
            raise ExportError(f"{target}: a symbolic link to nothing; the sidecar was not written") from None
        return
    except OSError as exc:
        raise ExportError(f"{target}: cannot be read ({exc.strerror or exc}); the sidecar was not written") from exc
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
        raise ExportError(f"{target}: {kind}, not a sidecar; it was not written")
    if info.st_size > MAX_SIDECAR_BYTES:
        raise ExportError(
            f"{target}: {info.st_size:,} bytes, more than a sidecar holds ({MAX_SIDECAR_BYTES:,}); it was not written"
        )


# ---------------------------------------------------------------------- embedding


@dataclass(frozen=True)
class Embedded:
    """A photo whose file now holds the fields: its backup, and its new size and mtime."""

    path: str
    backup: str | None
    size: int
    mtime_ns: int


def embed(record: XmpRecord, *, backup: bool = True) -> Embedded:
    """Write the fields into the photo file itself. The write is made on a copy and checked —
    fields read back equal, pixels and every other metadata field unchanged — before the copy
    replaces the photo; the original goes to .shashin-backup/ beside it unless `backup` is False."""
    import pyexiv2

    if storage.is_remote(record.path):
        raise ExportError(f"{record.path}: cannot embed into photos on object storage; write sidecars with --out DIR")
    photo = Path(record.path)
    _check_writable(photo)
    if str(photo.parent) not in _SWEPT:  # once per folder and process: what killed embeds left
        _SWEPT.add(str(photo.parent))
        remove_stale_trials([str(photo.parent)])
    trial = photo.with_name(f".{photo.name}{_TRIAL}{os.getpid()}{photo.suffix}")
    try:
        shutil.copy2(photo, trial)
        before = _metadata(photo)
        try:
            with pyexiv2.Image(str(trial)) as image:
                image.modify_xmp(record.fields())
        except RuntimeError as exc:
            raise ExportError(f"{photo}: this format cannot hold XMP here ({exc}); export sidecars instead") from exc
        _verify(photo, trial, record, before)
        saved = str(_back_up(photo)) if backup else None
        os.replace(trial, photo)
    except OSError as exc:
        raise ExportError(f"{photo}: cannot write: {exc.strerror or exc}") from exc
    finally:
        trial.unlink(missing_ok=True)
    status = photo.stat()
    return Embedded(str(photo), saved, status.st_size, status.st_mtime_ns)


_TRIAL = ".shashin-"  # .photo.jpg.shashin-<pid>.jpg: the copy an embed writes and checks first
_SWEPT: set[str] = set()  # folders this process cleared of stale trial copies


def remove_stale_trials(folders: Iterable[str]) -> list[str]:
    """Delete the trial copies (hidden, full size) that embeds killed mid-write left in `folders`:
    those whose process is gone. Returns the paths removed."""
    removed = []
    for folder in folders:
        if storage.is_remote(folder):
            continue
        try:
            with os.scandir(folder) as entries:
                names = [entry.name for entry in entries if entry.name.startswith(".") and _TRIAL in entry.name]
        except OSError:
            continue
        for name in names:
            pid = name.rsplit(_TRIAL, 1)[1].split(".", 1)[0]
            if pid.isdigit() and not _running(int(pid)):
                path = os.path.join(folder, name)
                try:
                    os.unlink(path)
                    removed.append(path)
                except OSError:
                    pass
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to judge
        return True
    return True


def _back_up(photo: Path) -> Path:
    """Keep the bytes about to be replaced in .shashin-backup/: as photo.jpg the first time, as
    photo.<date-time>.jpg when a later embed replaces other bytes (the photo was edited, or
    embedded again), never overwriting an older backup. An identical backup is reused."""
    folder = photo.parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    current = photo.read_bytes()
    earlier = [folder / photo.name, *sorted(folder.glob(f"{glob.escape(photo.stem)}.*{glob.escape(photo.suffix)}"))]
    for candidate in earlier:
        if candidate.is_file() and candidate.stat().st_size == len(current) and candidate.read_bytes() == current:
            return candidate
    target = folder / photo.name
    if target.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = folder / f"{photo.stem}.{stamp}{photo.suffix}"
        number = 1
        while target.exists():
            number += 1
            target = folder / f"{photo.stem}.{stamp}-{number}{photo.suffix}"
    shutil.copy2(photo, target)
    return target


def _check_writable(photo: Path) -> None:
    try:
        mode = photo.stat().st_mode
    except OSError as exc:
        raise ExportError(f"{photo}: cannot read: {exc.strerror or exc}") from exc
    if not mode & stat.S_IWUSR or not os.access(photo, os.W_OK):
        raise ExportError(
            f"{photo}: the file is read-only (mode {stat.filemode(mode)}); make it writable, "
            "or export XMP sidecars (--format xmp) instead"
        )
    if not os.access(photo.parent, os.W_OK):
        raise ExportError(f"{photo.parent}: the folder is read-only; export XMP sidecars under --out instead")


def _metadata(path: Path) -> dict[str, Any]:
    import pyexiv2

    with pyexiv2.Image(str(path)) as image:
        exif = {k: v for k, v in image.read_exif().items() if k != "Exif.Image.XMLPacket"}  # TIFF keeps XMP there
        return {"exif": exif, "iptc": image.read_iptc(), "xmp": image.read_xmp(), "pixels": _pixels(path)}


def _pixels(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return hashlib.blake2b(image.tobytes() + repr((image.mode, image.size)).encode(), digest_size=16).hexdigest()


def _verify(photo: Path, trial: Path, record: XmpRecord, before: dict[str, Any]) -> None:
    after = _metadata(trial)
    problems = []
    if after["pixels"] != before["pixels"]:
        problems.append("the pixels changed")
    for kind in ("exif", "iptc"):
        if after[kind] != before[kind]:
            problems.append(f"{kind.upper()} changed")
    for key, value in record.fields().items():
        if after["xmp"].get(key) != value:
            problems.append(f"{key} read back as {after['xmp'].get(key)!r}")
    untouched = {k: v for k, v in before["xmp"].items() if k not in record.fields()}
    if any(after["xmp"].get(k) != v for k, v in untouched.items()):
        problems.append("other XMP fields changed")
    if problems:
        raise ExportError(
            f"{photo}: the trial write was not faithful ({'; '.join(problems)}); the photo was left as it was"
        )


# ---------------------------------------------------------------------- tables


def to_csv(records: Sequence[AltRecord], langs: Sequence[str]) -> str:
    """A table for spreadsheets; text from photos and captions that a spreadsheet would run as a
    formula (=, +, -, @ first) is prefixed with an apostrophe, as OWASP recommends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "path",
            "photo_id",
            *[f"alt_{lang}" for lang in langs],
            *[f"extended_{lang}" for lang in langs],
            "edited_by_a_person",
        ]
    )
    for r in records:
        writer.writerow(
            [
                _inert(cell)
                for cell in [
                    r.path,
                    r.photo_id,
                    *[r.alt.get(lang, "") for lang in langs],
                    *[r.extended.get(lang, "") for lang in langs],
                    "yes" if r.human else "",
                ]
            ]
        )
    return buffer.getvalue()


def _inert(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def to_json(records: Sequence[AltRecord]) -> str:
    return json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2) + "\n"


def to_html(records: Sequence[AltRecord], langs: Sequence[str]) -> str:
    """One <img src alt> snippet per photo and language, ready to paste (src is the file's path)."""
    lines = []
    for r in records:
        for lang in langs:
            if lang in r.alt:
                lines.append(
                    f'<img src="{html.escape(Path(r.path).as_uri())}" alt="{html.escape(r.alt[lang])}" lang="{html.escape(lang)}">'
                )
    return "\n".join(lines) + "\n"


__all__ = [
    "FORMATS",
    "AltRecord",
    "Embedded",
    "ExportError",
    "XmpRecord",
    "build_record",
    "embed",
    "remove_stale_trials",
    "sidecar_path",
    "to_csv",
    "to_html",
    "to_json",
    "write_sidecar",
]
