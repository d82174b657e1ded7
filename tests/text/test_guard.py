import pytest

from shashin.text.guard import check_caption


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A man in a red shirt walks a dog on the beach.", "A man in a red shirt walks a dog on the beach."),
        ("This image shows a man in a red shirt.", "A man in a red shirt."),
        ("The photo depicts: two cats on a sofa.", "Two cats on a sofa."),
        ("In this picture, a train arrives at Tokyo Station.", "A train arrives at Tokyo Station."),
        ("Here's a one-sentence description of the image: A bowl of ramen.", "A bowl of ramen."),
        ('  "A sign that says NO LITTER."  ', "A sign that says NO LITTER."),
        (
            "この画像は、赤いシャツを着た男性が海辺で犬を散歩させている様子です。",
            "赤いシャツを着た男性が海辺で犬を散歩させている様子です。",
        ),
        ("東京駅の前に人が集まっている。", "東京駅の前に人が集まっている。"),
        ("A sign reads STOP STOP in red letters.", "A sign reads STOP STOP in red letters."),  # twice is fine
    ],
)
def test_good_captions_pass_cleaned(raw: str, expected: str) -> None:
    result = check_caption(raw)
    assert result.ok, result.problem
    assert result.text == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty output"),
        ("   \n\n  ", "empty output"),
        ("...", "no words"),
        ("This image shows", "only boilerplate"),
        ("Types Types Types Types Types Types Types Types", "repeats"),
        ("A dog on a beach on a beach on a beach on a beach on a beach", "repeats"),
        ("The cat. The cat. The cat. The cat is here.", "repeats"),
        ("A red car. A red car. A red car.", "repeats"),
        ("犬犬犬犬犬犬犬犬犬犬", "repeats"),
        ("海辺の犬海辺の犬海辺の犬海辺の犬海辺の犬", "repeats"),
        ("a a b a b a c a b a a b a a b c a b a a b a b a a b a", "distinct words"),
    ],
)
def test_degenerate_output_is_caught_with_a_reason(raw: str, reason: str) -> None:
    result = check_caption(raw)
    assert not result.ok
    assert reason in (result.problem or ""), result.problem
