from shashin.text.tokenize import index_text, terms, tokenize, word_sequence


def test_half_width_katakana_matches_full_width() -> None:
    assert terms("ｽﾏﾎ") == terms("スマホ")


def test_latin_is_case_folded_and_not_turned_into_katakana() -> None:
    assert terms("Tokyo STATION") == ["tokyo", "station"]
    assert terms("ＮＯ　ＬＩＴＴＥＲ") == ["no", "litter"]  # full-width Latin


def test_compounds_are_kept_and_split() -> None:
    found = terms("東京都渋谷区")
    assert found[0] == "東京都渋谷区"
    assert {"東京", "渋谷"} <= set(found)
    assert "東京駅" in terms("東京駅") and "東京" in terms("東京駅")


def test_particles_and_punctuation_are_not_terms() -> None:
    assert terms("東京の駅で、NO!") == ["東京", "駅", "no"]


def test_offsets_point_into_the_original_text() -> None:
    text = "Please, NO LITTER. ｽﾏﾎ禁止"
    for token in tokenize(text):
        assert token.term  # every token has a term
        piece = text[token.start : token.end]
        assert terms(piece)[0] == token.term


def test_word_sequence_leaves_out_sub_words() -> None:
    assert [t.term for t in word_sequence("東京駅で待つ")] == ["東京駅", "待つ"]


def test_long_text_beyond_sudachi_input_limit() -> None:
    text = ("ポイ捨て禁止 NO LITTER\n" * 3000) + "最後"  # far over 49,149 bytes
    found = tokenize(text)
    assert found[-1].term == "最後"
    assert text[found[-1].start : found[-1].end] == "最後"


def test_index_text_is_space_separated_terms() -> None:
    assert index_text("NO LITTER ポイ捨て") == " ".join(terms("NO LITTER ポイ捨て"))
    assert index_text("") == ""
