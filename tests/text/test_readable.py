"""What of a photo's OCR text alt text may say: words a dictionary knows, others only when sure."""

from __future__ import annotations

from shashin.text.readable import SURE, readable_text


def line(text: str, confidence: float) -> dict[str, object]:
    return {"text": text, "confidence": confidence}


def test_a_sign_is_said_whole_and_a_portraits_texture_is_not() -> None:
    lines = [
        line("NO LITTER", 0.99),  # LITTER is in no dictionary here, but it was read surely
        line("ポイ捨て禁止", 0.9),
        line("MOOSK", 0.81),  # noise read off a sweater
        line("Tokyo Station 東京駅", 0.7),  # known words, said at any confidence
    ]
    assert readable_text(lines) == "NO LITTER\nポイ捨て禁止\nTokyo Station 東京駅"


def test_an_unsure_line_keeps_only_its_known_words_and_goes_when_they_say_nothing() -> None:
    assert readable_text([line("CAUTION FLOOOR", SURE - 0.1)]) == "CAUTION"
    assert readable_text([line("NO LITTRE", SURE - 0.1)]) == ""  # "NO" alone says nothing
    assert readable_text([line("x", 1.0), line("", 1.0), line("・・・", 1.0)]) == ""
