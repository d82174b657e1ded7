from shashin.channels.base import Highlight
from shashin.search.explain import snippet


def test_short_text_is_kept_with_lines_joined() -> None:
    text = "NO LITTER\nポイ捨て禁止"
    cut = snippet(Highlight("ocr", "text in photo", text, ((3, 9), (10, 14))))
    assert cut.text == "NO LITTER / ポイ捨て禁止"
    assert [cut.text[a:b] for a, b in cut.spans] == ["LITTER", "ポイ捨て"]


def test_long_text_is_cut_around_the_first_match() -> None:
    text = "x " * 300 + "TARGET" + " y" * 300
    start = text.index("TARGET")
    cut = snippet(Highlight("ocr", "text in photo", text, ((start, start + 6),)), width=80)
    assert cut.text.startswith("…") and cut.text.endswith("…")
    assert len(cut.text) == 82
    assert [cut.text[a:b] for a, b in cut.spans] == ["TARGET"]
