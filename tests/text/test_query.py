import pytest

from shashin.text.match import contains_phrases, match_spans
from shashin.text.query import parse_keywords


@pytest.mark.parametrize(
    ("query", "terms", "phrases"),
    [
        ("NO LITTER", ("no", "litter"), ()),
        ('"NO LITTER"', ("no", "litter"), (("no", "litter"),)),
        ("「東京駅」", ("東京駅", "東京", "駅"), ()),  # one word: its term already requires it
        ("“wet floor” sign", ("wet", "floor", "sign"), (("wet", "floor"),)),
        ("『ポイ捨て 禁止』", ("ぽい捨て", "禁止"), (("ぽい捨て", "禁止"),)),
        ("の、", (), ()),
    ],
)
def test_parse_keywords(query: str, terms: tuple, phrases: tuple) -> None:
    parsed = parse_keywords(query)
    assert parsed.terms == terms
    assert parsed.phrases == phrases


def test_phrase_must_be_adjacent_and_in_order() -> None:
    query = parse_keywords('"no litter"')
    assert contains_phrases("Please: NO LITTER here", query)
    assert contains_phrases("NO\nLITTER", query)  # a sign's two lines
    assert not contains_phrases("LITTER NO", query)
    assert contains_phrases("no dogs, no litter bins", query)


def test_phrase_across_other_words_does_not_match() -> None:
    query = parse_keywords('"no litter"')
    assert not contains_phrases("no dogs or litter", query)


def test_match_spans_cover_terms_and_sub_words() -> None:
    text = "東京駅でｽﾏﾎを見る。NO LITTER"
    spans = match_spans(text, parse_keywords("東京 スマホ litter"))
    assert [text[a:b] for a, b in spans] == ["東京", "ｽﾏﾎ", "LITTER"]


def test_match_spans_merge_phrase_words() -> None:
    text = "Please, NO LITTER."
    spans = match_spans(text, parse_keywords('"no litter"'))
    assert [text[a:b] for a, b in spans] == ["NO LITTER"]


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("犬が走っている", ("犬", "走る")),  # いる only supports 走っ
        ("猫がいる写真", ("猫",)),  # いる (there is), and 写真 says nothing of what is shown
        ("本を読むこと", ("本", "読む")),
        ("これは私の車です", ("車",)),
        ("a photo of a dog", ("dog",)),
        ("いる", ("居る",)),  # alone, a word is still searched
    ],
)
def test_words_that_only_support_others_are_not_searched(query: str, terms: tuple[str, ...]) -> None:
    assert parse_keywords(query).terms == terms


def test_a_word_held_only_by_its_stem_is_no_exact_match() -> None:
    from shashin.channels.base import Hit
    from shashin.channels.keywords import STEM_CREDIT, exact_before_stem

    texts = {"logo": "CITI", "sign": "CITY HALL", "dogs": "two dogs"}
    hits = [Hit("logo", 3.0, True, 1.0), Hit("sign", 2.9, True, 1.0)]
    ranked = exact_before_stem(hits, parse_keywords("city"), lambda keys: {k: texts[k] for k in keys})
    assert [(h.photo_id, h.exact) for h in ranked] == [("sign", True), ("logo", False)]
    assert ranked[1].quality == STEM_CREDIT
    dogs = exact_before_stem([Hit("dogs", 2.0, True, 1.0)], parse_keywords("dogs"), lambda keys: texts)
    assert dogs[0].exact  # the word as asked
