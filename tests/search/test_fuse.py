from shashin.channels.base import Hit
from shashin.search.fuse import fuse_rankings


def hits(*ids: str) -> list[Hit]:
    return [Hit(pid, 10.0 - i) for i, pid in enumerate(ids)]


def test_single_channel_passes_through_in_order() -> None:
    fused = fuse_rankings({"ocr": hits("a", "b", "c")})
    assert [f.photo_id for f in fused] == ["a", "b", "c"]
    assert fused[0].channels["ocr"].rank == 1 and fused[0].channels["ocr"].score == 10.0


def test_agreement_between_channels_ranks_first() -> None:
    fused = fuse_rankings({"ocr": hits("a", "b"), "file": hits("b", "c")})
    assert fused[0].photo_id == "b"
    assert set(fused[0].channels) == {"ocr", "file"}


def test_a_channel_without_opinion_never_lowers_a_score() -> None:
    alone = {f.photo_id: f.score for f in fuse_rankings({"ocr": hits("a", "b", "c")})}
    together = {f.photo_id: f.score for f in fuse_rankings({"ocr": hits("a", "b", "c"), "file": hits("x", "y")})}
    for photo_id, score in alone.items():
        assert together[photo_id] == score


def test_identical_channel_keeps_the_order() -> None:
    one = [f.photo_id for f in fuse_rankings({"ocr": hits("a", "b", "c")})]
    two = [f.photo_id for f in fuse_rankings({"ocr": hits("a", "b", "c"), "copy": hits("a", "b", "c")})]
    assert one == two


def test_weights_and_k() -> None:
    fused = fuse_rankings({"ocr": hits("a"), "file": hits("b")}, k=10, weights={"file": 2.0})
    assert [f.photo_id for f in fused] == ["b", "a"]
    assert abs(fused[0].score - 2.0 / 11) < 1e-12
    assert fuse_rankings({"ocr": hits("a")}, weights={"ocr": 0}) == []


def test_duplicate_hits_count_once() -> None:
    fused = fuse_rankings({"ocr": [Hit("a", 3.0), Hit("a", 2.0)]})
    assert len(fused) == 1 and fused[0].channels["ocr"].rank == 1


def test_single_channel_with_partial_matches_passes_through_in_order() -> None:
    ranked = [Hit("a", 9, False, 0.4), Hit("b", 8, True, 1.0), Hit("c", 7, False, 0.2)]
    assert [f.photo_id for f in fuse_rankings({"ocr": ranked}, word_channels={"ocr"})] == ["a", "b", "c"]


def test_adding_an_identical_channel_changes_nothing() -> None:
    ranked = [Hit("a", 9, False, 0.5), Hit("b", 8, True, 1.0), Hit("c", 7)]
    one = fuse_rankings({"caption": ranked})
    two = fuse_rankings({"caption": ranked, "ocr": ranked})
    assert [f.photo_id for f in one] == [f.photo_id for f in two]


def test_a_missing_channel_never_lowers_a_photo() -> None:
    """A photo one channel has no opinion about keeps its score and its place among the others
    that channel does not know."""
    base = {"caption": [Hit("a", 3, False, 0.6), Hit("b", 2, True, 1.0), Hit("c", 1)]}
    more = {**base, "image": [Hit("x", 0.9), Hit("b", 0.8)]}
    before = {f.photo_id: f for f in fuse_rankings(base)}
    after = fuse_rankings(more)
    for fused in after:
        if fused.photo_id in before and "image" not in fused.channels:
            assert fused.score == before[fused.photo_id].score
    unknown_to_image = [f.photo_id for f in after if "image" not in f.channels]
    assert unknown_to_image == [p for p in before if p in unknown_to_image]


def test_partial_word_matches_count_by_the_share_they_match() -> None:
    """An incidental word on a sign (a third of the query) adds a third of what a full match adds."""
    meaning = [Hit("right", 0.9), Hit("other", 0.6), Hit("sign", 0.5)]
    partial = fuse_rankings({"caption_vector": meaning, "ocr": [Hit("sign", 2.0, False, 0.3)]}, k=20)
    full = fuse_rankings({"caption_vector": meaning, "ocr": [Hit("sign", 2.0, True, 1.0)]}, k=20)
    gain = {f.photo_id: f.score for f in full}["sign"] - 1 / 23
    assert abs(({f.photo_id: f.score for f in partial}["sign"] - 1 / 23) - 0.3 * gain) < 1e-12
    assert next(f for f in partial if f.photo_id == "sign").channels["ocr"].quality == 0.3


def test_exact_word_matches_are_never_buried_by_meaning() -> None:
    """ "Car": the image channel puts the card game first; OCR read CAR on a sign. The sign wins,
    and a photo found only by meaning never ranks above an exact match."""
    rankings = {
        "image": [Hit("card", 0.31), Hit("toy", 0.30), Hit("car-sign", 0.12)],
        "tags": [Hit("toy", 1.0, True)],
        "ocr": [Hit("car-sign", 3.0, True)],
    }
    fused = [f.photo_id for f in fuse_rankings(rankings, word_channels={"ocr", "tags"})]
    assert fused.index("car-sign") < fused.index("card") and fused.index("toy") < fused.index("card")
    plain = [f.photo_id for f in fuse_rankings(rankings)]
    assert plain[0] in ("car-sign", "toy")  # without the rule agreement already lifts them
    meaning_only = fuse_rankings(
        {"image": [Hit("card", 0.9), Hit("x", 0.5)], "ocr": [Hit("x", 1.0, True)]}, word_channels={"ocr"}
    )
    assert [f.photo_id for f in meaning_only] == ["x", "card"]


def test_relevance_is_one_for_first_everywhere() -> None:
    fused = fuse_rankings({"ocr": hits("a", "b"), "caption": hits("a", "c")}, k=20)
    assert fused[0].relevance == 1.0 and all(0 < f.relevance < 1 for f in fused[1:])


def score_fused(rankings, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.photo_id for f in fuse_rankings(rankings, mode="score", **kwargs)]


def test_score_fusion_keeps_a_single_channels_order_and_never_lowers_a_photo() -> None:
    ranked = [Hit("a", 0.9), Hit("b", 0.7), Hit("c", 0.1)]
    assert score_fused({"caption_vector": ranked}) == ["a", "b", "c"]
    partial = [Hit("a", 9, False, 0.4), Hit("b", 8, True, 1.0), Hit("c", 7, False, 0.2)]
    assert score_fused({"ocr": partial}, word_channels={"ocr"}) == ["a", "b", "c"]  # a keyword ranking is kept as it is
    alone = {f.photo_id: f.score for f in fuse_rankings({"caption_vector": ranked}, mode="score")}
    more = {
        f.photo_id: f.score for f in fuse_rankings({"caption_vector": ranked, "image": [Hit("x", 0.3)]}, mode="score")
    }
    assert all(more[p] == score for p, score in alone.items())
    fused = fuse_rankings({"caption_vector": ranked}, mode="score")
    assert fused[0].relevance == 1.0 and all(0 < f.relevance < 1 for f in fused[1:])


def test_score_fusion_hears_how_sure_a_channel_is() -> None:
    """Ranks say "b is second" whatever the gap; scores say a meaning channel barely prefers "a"
    while the keywords clearly prefer "b": b wins. Rank fusion cannot see the difference."""
    meaning = [Hit("a", 0.851), Hit("b", 0.850), Hit("c", 0.60)]
    words = [Hit("b", 7.0, False, 0.9), Hit("a", 1.0, False, 0.2)]
    assert score_fused({"caption_vector": meaning, "caption": words}, weights={"caption": 0.2})[0] == "b"
    clear = [Hit("a", 0.95), Hit("b", 0.62), Hit("c", 0.60)]
    assert score_fused({"caption_vector": clear, "caption": words}, weights={"caption": 0.2})[0] == "a"
