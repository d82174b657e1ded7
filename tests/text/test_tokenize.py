import pytest

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


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("dogs", "dog", True),
        ("running", "runs", True),
        ("skiing", "skis", True),
        ("giraffes", "giraffe", True),
        ("car", "card", False),
        ("cars", "cards", False),
        ("news", "new", False),
        ("東京", "東京", True),
        ("re16", "re16", True),
    ],
)
def test_keyword_search_compares_english_words_by_their_stems(a: str, b: str, meet: bool) -> None:
    from shashin.text.tokenize import search_form

    assert (search_form(a) == search_form(b)) is meet


def test_japanese_words_get_their_english_words_from_jmdict() -> None:
    from shashin.text.glossary import english_words

    assert {"dog", "run"} <= set(english_words("犬が走っている"))
    assert {"laptop", "computer", "cat"} <= set(english_words("ノートパソコンの上の猫"))
    assert english_words("a dog runs") == () and english_words("") == ()
    assert "する" not in " ".join(english_words("散歩する犬"))


def test_english_words_for_japanese_ones_in_any_thread() -> None:
    """A web server searches in many threads; JMdict's SQLite connection belongs to the thread that made it."""
    import threading

    from shashin.text.glossary import english_words

    english_words("犬")
    found: list[tuple[str, ...]] = []
    worker = threading.Thread(target=lambda: found.append(english_words("猫が走る")))
    worker.start()
    worker.join()
    assert found and {"cat", "run"} <= set(found[0])


def test_threads_share_one_dictionary_and_each_has_its_own_tokenizer() -> None:
    """A server's worker threads come and go: each new one makes a tokenizer (cheap) from the
    process's one dictionary (50 ms to load) instead of loading its own."""
    import threading

    from shashin.text import tokenize as module

    made: list[tuple[object, object]] = []  # the objects themselves: ids may be reused

    def work() -> None:
        assert [t.term for t in module.tokenize("東京の駅")][:1] == ["東京"]
        made.append((module.japanese_tokenizer(), module._dictionary()))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tokenizers = [tokenizer for tokenizer, _ in made]
    assert len(made) == 3 and all(a is not b for i, a in enumerate(tokenizers) for b in tokenizers[i + 1 :])
    assert all(dictionary is made[0][1] for _, dictionary in made)
