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
