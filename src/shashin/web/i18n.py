"""The interface's words in English and Japanese; the reader's language comes from ?ui= or the browser."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "shashin — photo search",
        "search": "Search",
        "placeholder": "Words, a description, a date or a place: beach July 2023, 京都の寺",
        "from": "Taken from",
        "to": "to",
        "folder": "Folder",
        "camera": "Camera",
        "near": "Near",
        "has_text": "Only photos with text",
        "sort": "Sort",
        "relevance": "Relevance",
        "newest": "Newest",
        "oldest": "Oldest",
        "filters": "Filters",
        "results": "{total} photos",
        "none": "No photos matched.",
        "why": "Why",
        "channel": "Channel",
        "rank": "Rank",
        "score": "Score",
        "every_word": "every word",
        "fused": "Fused score",
        "previous": "Previous",
        "next": "Next",
        "drop": "Drop a photo here, or choose one, to find photos that look like it",
        "choose": "Search by photo",
        "similar": "Similar photos",
        "captions": "Captions",
        "text_in_photo": "Text in the photo",
        "tags": "Tags",
        "details": "Details",
        "alt_text": "Alt text",
        "taken": "Taken",
        "place": "Place",
        "files": "Files",
        "original": "Open the original",
        "back": "Back to search",
        "understood": "Understood",
        "unavailable": "Not used",
        "source": "source",
        "language": "日本語",
    },
    "ja": {
        "title": "写真 — 写真検索",
        "search": "検索",
        "placeholder": "言葉・説明・日付・場所: 2025年9月の京都, beach July 2023",
        "from": "撮影日",
        "to": "〜",
        "folder": "フォルダ",
        "camera": "カメラ",
        "near": "場所",
        "has_text": "文字のある写真だけ",
        "sort": "並び順",
        "relevance": "関連度",
        "newest": "新しい順",
        "oldest": "古い順",
        "filters": "絞り込み",
        "results": "{total} 枚",
        "none": "該当する写真はありません。",
        "why": "理由",
        "channel": "チャネル",
        "rank": "順位",
        "score": "スコア",
        "every_word": "全語一致",
        "fused": "統合スコア",
        "previous": "前へ",
        "next": "次へ",
        "drop": "写真をここにドロップするか選ぶと、似た写真を探します",
        "choose": "写真で検索",
        "similar": "似た写真",
        "captions": "キャプション",
        "text_in_photo": "写真の中の文字",
        "tags": "タグ",
        "details": "詳細",
        "alt_text": "代替テキスト",
        "taken": "撮影日時",
        "place": "場所",
        "files": "ファイル",
        "original": "元の写真を開く",
        "back": "検索に戻る",
        "understood": "解釈",
        "unavailable": "使えなかったチャネル",
        "source": "出典",
        "language": "English",
    },
}


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """ja or en: an explicit choice first, else the browser's first preference."""
    if requested in TEXTS:
        return requested  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("ja"):
            return "ja"
        if code.startswith("en"):
            return "en"
    return "en"
