"""Zero-shot tags: a ja/en vocabulary scored against each photo's image vector by the text tower.

The top tags of a photo are stored with its image vector; this module's Channel searches them
by keyword, so "犬" or "dog" finds photos tagged dog even where no text is in the photo.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from shashin.channels.base import Channel, ChannelQuery, Highlight, Hit, ResultPage
from shashin.channels.keywords import highlight, rank_by_keywords
from shashin.store import PhotoSet, Store
from shashin.text.query import KeywordQuery
from shashin.text.tokenize import index_text

PROMPT = "a photo of {}."

# Common scenes, subjects and events (English, Japanese). Replace with image.tags_vocabulary.
DEFAULT_VOCABULARY: tuple[tuple[str, str], ...] = (
    ("beach", "ビーチ"),
    ("sea", "海"),
    ("mountain", "山"),
    ("forest", "森"),
    ("lake", "湖"),
    ("river", "川"),
    ("waterfall", "滝"),
    ("snow", "雪"),
    ("desert", "砂漠"),
    ("field", "野原"),
    ("flower", "花"),
    ("cherry blossom", "桜"),
    ("autumn leaves", "紅葉"),
    ("tree", "木"),
    ("garden", "庭"),
    ("park", "公園"),
    ("sky", "空"),
    ("sunset", "夕焼け"),
    ("night", "夜"),
    ("rain", "雨"),
    ("city", "街"),
    ("street", "通り"),
    ("building", "建物"),
    ("skyscraper", "高層ビル"),
    ("bridge", "橋"),
    ("temple", "寺"),
    ("shrine", "神社"),
    ("castle", "城"),
    ("church", "教会"),
    ("museum", "博物館"),
    ("station", "駅"),
    ("train", "電車"),
    ("airport", "空港"),
    ("airplane", "飛行機"),
    ("car", "車"),
    ("bus", "バス"),
    ("bicycle", "自転車"),
    ("motorcycle", "バイク"),
    ("boat", "船"),
    ("road", "道路"),
    ("traffic light", "信号"),
    ("sign", "看板"),
    ("map", "地図"),
    ("shop", "店"),
    ("market", "市場"),
    ("restaurant", "レストラン"),
    ("cafe", "カフェ"),
    ("kitchen", "台所"),
    ("food", "料理"),
    ("sushi", "寿司"),
    ("ramen", "ラーメン"),
    ("cake", "ケーキ"),
    ("fruit", "果物"),
    ("vegetables", "野菜"),
    ("coffee", "コーヒー"),
    ("drink", "飲み物"),
    ("pizza", "ピザ"),
    ("bread", "パン"),
    ("dog", "犬"),
    ("cat", "猫"),
    ("bird", "鳥"),
    ("horse", "馬"),
    ("cow", "牛"),
    ("sheep", "羊"),
    ("elephant", "象"),
    ("giraffe", "キリン"),
    ("zebra", "シマウマ"),
    ("bear", "熊"),
    ("fish", "魚"),
    ("insect", "虫"),
    ("person", "人"),
    ("man", "男性"),
    ("woman", "女性"),
    ("child", "子供"),
    ("baby", "赤ちゃん"),
    ("group of people", "集合写真"),
    ("crowd", "人混み"),
    ("portrait", "ポートレート"),
    ("selfie", "自撮り"),
    ("family", "家族"),
    ("wedding", "結婚式"),
    ("birthday", "誕生日"),
    ("festival", "祭り"),
    ("concert", "コンサート"),
    ("conference", "会議"),
    ("presentation slide", "スライド"),
    ("classroom", "教室"),
    ("office", "オフィス"),
    ("computer", "パソコン"),
    ("smartphone", "スマホ"),
    ("book", "本"),
    ("document", "書類"),
    ("screenshot", "スクリーンショット"),
    ("sports", "スポーツ"),
    ("soccer", "サッカー"),
    ("baseball", "野球"),
    ("tennis", "テニス"),
    ("skiing", "スキー"),
    ("surfing", "サーフィン"),
    ("swimming pool", "プール"),
    ("bedroom", "寝室"),
    ("living room", "リビング"),
    ("bathroom", "浴室"),
    ("table", "テーブル"),
    ("chair", "椅子"),
    ("clock", "時計"),
    ("umbrella", "傘"),
    ("bag", "鞄"),
    ("shoes", "靴"),
    ("clothes", "服"),
    ("toy", "おもちゃ"),
    ("teddy bear", "ぬいぐるみ"),
    ("painting", "絵画"),
    ("statue", "像"),
    ("fireworks", "花火"),
)


@dataclass(frozen=True)
class Tag:
    """One vocabulary entry and how probable it is for a photo."""

    en: str
    ja: str
    score: float


def load_vocabulary(path: str) -> tuple[tuple[str, str], ...]:
    """(english, japanese) pairs from a CSV file of "english,japanese" lines, or the built-in list."""
    if not path:
        return DEFAULT_VOCABULARY
    file = Path(path).expanduser()
    try:
        rows = list(csv.reader(file.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise ValueError(f"image.tags_vocabulary: cannot read {file}: {exc.strerror or exc}") from exc
    pairs = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if len(cells) > 2:
            raise ValueError(f"{file}:{number}: expected 'english,japanese', got {len(cells)} columns")
        pairs.append((cells[0], cells[1] if len(cells) > 1 else ""))
    if not pairs:
        raise ValueError(f"{file}: no tags in it")
    return tuple(pairs)


def vocabulary_identity(vocabulary: tuple[tuple[str, str], ...], per_photo: int, min_score: float) -> str:
    """What determines the tags besides the model: words, prompt, how many and how probable."""
    digest = hashlib.blake2b(repr((vocabulary, PROMPT, per_photo, min_score)).encode(), digest_size=8).hexdigest()
    return f"{len(vocabulary)} tags ({digest})"


def top_tags(
    probabilities: np.ndarray, vocabulary: tuple[tuple[str, str], ...], per_photo: int, min_score: float
) -> list[list[Tag]]:
    """For each photo (row), its most probable tags, at most `per_photo`, each at least `min_score`."""
    chosen: list[list[Tag]] = []
    for row in probabilities:
        order = np.argsort(-row)[:per_photo]
        chosen.append(
            [Tag(vocabulary[i][0], vocabulary[i][1], round(float(row[i]), 4)) for i in order if row[i] >= min_score]
        )
    return chosen


def tag_text(tags: list[Tag]) -> str:
    """The tags as the text the keyword index sees: each English and Japanese label, one per line."""
    return "\n".join(f"{tag.en} {tag.ja}".strip() for tag in tags)


class TagsChannel(Channel):
    """Keyword search over the zero-shot tags stored with the image vectors."""

    name: ClassVar[str] = "tags"
    description: ClassVar[str] = "zero-shot tags of what the photo shows"
    matches_words: ClassVar[bool] = True
    source: ClassVar[str] = "image"  # the indexed channel whose table holds the tags

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        return rank_tags(store, self.source, query.keywords, query.within, limit)

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        rows = store.channel_rows(self.source, page.photo_ids, ["tags"], from_memory=True)
        found: dict[str, list[Highlight]] = {}
        for photo_id, row in rows.items():
            text = ", ".join(f"{t['en']} {t['ja']}".strip() for t in row["tags"] or [])
            match = highlight(self.name, "tags", text, query.keywords)
            if match:
                found[photo_id] = [match]
        return found


def rank_tags(store: Store, source: str, words: KeywordQuery, within: PhotoSet | None, limit: int) -> list[Hit]:
    """BM25 over the tags a channel's table holds (`tag_terms`), with the keyword channels' rules
    (rank_by_keywords): what the tags channel and the labels channel search."""

    def search_terms(terms, n, require_all):  # type: ignore[no-untyped-def]
        return store.search_channel(source, "tag_terms", terms, limit=n, require_all=require_all, within=within)

    def texts(ids: list[str]) -> dict[str, str]:
        rows = store.channel_rows(source, ids, ["tags"], from_memory=True)
        return {pid: tag_text([Tag(**t) for t in row["tags"] or []]) for pid, row in rows.items()}

    return rank_by_keywords(words, search_terms, texts, limit)


def stored_tags(store: Store, source: str, photo_id: str) -> list[dict[str, Any]]:
    """The tags (or labels) a channel's table holds for one photo ([] when it has none yet)."""
    row = store.channel_rows(source, [photo_id], ["tags", "status"]).get(photo_id) or {}
    return list(row.get("tags") or []) if row.get("status") == "done" else []


def tags_payload(tags: list[Tag]) -> dict[str, Any]:
    """The columns that hold a photo's tags."""
    return {"tags": [t.__dict__ for t in tags], "tag_terms": index_text(tag_text(tags))}
