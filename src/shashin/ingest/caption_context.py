"""What the library knows about a photo, told to the caption model (`shashin caption --context`):
where (the town from its GPS, or the place names its metadata keeps), when, the folder it is
in, and the people named in it — so a caption says "Ken and Mia on the beach at Kamakura", not
"two people on a beach". The prompt with its context is stored with the caption (provenance),
and a changed context (a person named since, a place fixed) makes the caption due again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shashin import storage
from shashin.store import Store

# How the context is said to the model, in each language it writes.
_WORDS = {
    "en": {
        "intro": "What is known about this photo (use it where it fits; do not invent other names or places):",
        "taken": "taken {date}",
        "place": "near {place}",
        "folder": "in a folder named “{folder}”",
        "people": "people in it: {names}",
        "join": "; ",
        "names": ", ",
        "date": "%-d %B %Y",
    },
    "ja": {
        "intro": "この写真について分かっていること（合う所で使い、他の名前や地名は作らないこと）:",
        "taken": "撮影日 {date}",
        "place": "場所 {place}付近",
        "folder": "フォルダ「{folder}」",
        "people": "写っている人: {names}",
        "join": "、",
        "names": "、",
        "date": "%Y年%-m月%-d日",
    },
}


@dataclass(frozen=True)
class PhotoContext:
    """The facts about one photo a caption may use."""

    taken_at: datetime | None = None
    place: str = ""
    folder: str = ""
    people: tuple[str, ...] = ()

    def text(self, lang: str) -> str:
        """The facts as one sentence for the prompt in `lang` ("" when nothing is known)."""
        words = _WORDS.get(lang, _WORDS["en"])
        parts = []
        if self.taken_at is not None:
            parts.append(words["taken"].format(date=self.taken_at.strftime(words["date"])))
        if self.place:
            parts.append(words["place"].format(place=self.place))
        if self.folder:
            parts.append(words["folder"].format(folder=self.folder))
        if self.people:
            parts.append(words["people"].format(names=words["names"].join(self.people)))
        return f"{words['intro']} {words['join'].join(parts)}." if parts else ""


def photo_contexts(store: Store, photo_ids: Iterable[str]) -> dict[str, PhotoContext]:
    """What the library knows about each photo: date, town or kept place names, folder, people."""
    from shashin.metadata.kept import Kept
    from shashin.metadata.sync import CHANNEL as KEPT
    from shashin.people.lookup import names_in
    from shashin.places import nearest_towns

    ids = list(photo_ids)
    photos = store.get_photos(set(ids))
    towns = {pid: town.label for pid, (town, _) in nearest_towns(photos).items()}
    files = store.file_rows_for(ids)
    kept_rows = store.channel_rows(KEPT, ids, ["fields"])
    faces = names_in(store, ids)
    contexts = {}
    for photo_id in ids:
        photo: dict[str, Any] = photos.get(photo_id) or {}
        fields = json.loads((kept_rows.get(photo_id) or {}).get("fields") or "{}")
        kept = Kept.from_dict(fields) if fields else Kept()
        place = towns.get(photo_id) or ", ".join(text for _, text in kept.location)
        rows = files.get(photo_id) or []
        folder = storage.basename(storage.parent(rows[0].path)) if rows else ""
        people = tuple(dict.fromkeys([*faces.get(photo_id, []), *kept.names()]))
        contexts[photo_id] = PhotoContext(photo.get("taken_at"), place, folder, people)
    return contexts


@dataclass(frozen=True)
class CaptionPrompts:
    """The prompt each photo's caption is asked with, per language: the base prompt of its kind,
    with the photo's context after it when asked for; and the version that names the result."""

    base: dict[str, str]  # lang -> prompt
    backend: str
    model: str
    params: dict[str, Any]
    context: dict[str, dict[str, str]] = field(default_factory=dict)  # photo id -> lang -> context text

    @property
    def langs(self) -> list[str]:
        return list(self.base)

    def prompt(self, photo_id: str, lang: str) -> str:
        told = self.context.get(photo_id, {}).get(lang, "")
        return f"{self.base[lang]}\n\n{told}" if told else self.base[lang]

    def version(self, photo_id: str, lang: str) -> str:
        return caption_version(self.backend, self.model, self.prompt(photo_id, lang), self.params)


def caption_version(backend: str, model: str, prompt: str, params: dict[str, Any]) -> str:
    """One string for "same backend, model, prompt and parameters": equal versions are skipped."""
    digest = hashlib.blake2b(
        json.dumps([backend, model, prompt, params], ensure_ascii=False, sort_keys=True).encode(), digest_size=8
    )
    return f"{backend}:{model}:{digest.hexdigest()}"
