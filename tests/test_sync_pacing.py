"""Adaptive frame size: about two seconds of link per frame, within [8 KiB, 1 MiB]."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.protocol.limits import FRAME_TARGET_S, MAX_FRAME, MIN_FRAME, START_FRAME
from gateway.protocol.pacing import (
    CUT_SHARE,
    MIN_PIECE,
    RECORD_COST,
    CutWatch,
    FramePacer,
    piece_size,
)

KIB = 1024
samples = st.lists(
    st.tuples(st.integers(0, 2**40), st.floats(allow_nan=True, allow_infinity=True)),
    max_size=30,
)


def test_starts_at_32_kib_and_aims_at_the_protocol_target() -> None:
    pacer = FramePacer()
    assert pacer.frame_size() == START_FRAME == 32 * KIB
    assert pacer.target_s == FRAME_TARGET_S == 1.0
    pacer.observe(100 * KIB * 8, 8.0)
    assert pacer.frame_size() == 100 * KIB


@pytest.mark.parametrize(("rate", "size"), [
    (1_000, MIN_FRAME),  # 2G: 2 s would be 2 KB, the floor wins
    (20 * KIB, 40 * KIB),  # a poor 3G cell
    (100_000, 192 * KIB),  # 200 000 B rounded down to a multiple of 4 KiB
    (300 * KIB, 600 * KIB),
    (10 * 2**20, MAX_FRAME),  # fibre: the ceiling wins
])
def test_aims_at_two_seconds(rate: int, size: int) -> None:
    pacer = FramePacer(target_s=2.0)
    pacer.observe(rate * 8, 8.0)
    assert pacer.frame_size() == size


def test_target_is_configurable() -> None:
    pacer = FramePacer(target_s=1.0)
    pacer.observe(100 * KIB, 1.0)
    assert pacer.frame_size() == 100 * KIB
    with pytest.raises(ValueError):
        FramePacer(target_s=0)
    with pytest.raises(ValueError):
        FramePacer(alpha=0)


def test_tiny_and_absurd_samples_are_ignored() -> None:
    pacer = FramePacer(target_s=2.0)
    for nbytes, seconds in [(100, 0.001), (4095, 1.0), (10**6, 0.0), (10**6, -1.0),
                            (10**6, math.nan), (10**6, math.inf), (10**6, 0.001)]:
        pacer.observe(nbytes, seconds)
    assert pacer.rate is None and pacer.frame_size() == START_FRAME


def test_ewma_moves_gradually() -> None:
    pacer = FramePacer(target_s=2.0)
    pacer.observe(400 * KIB, 1.0)
    assert pacer.frame_size() == 800 * KIB
    pacer.observe(10 * KIB, 1.0)  # a bad moment, not yet a bad link
    assert 400 * KIB < pacer.frame_size() < 800 * KIB
    for _ in range(30):
        pacer.observe(10 * KIB, 1.0)
    assert pacer.frame_size() == 20 * KIB


@given(samples)
def test_always_within_bounds(observations: list[tuple[int, float]]) -> None:
    pacer = FramePacer(target_s=2.0)
    for nbytes, seconds in observations:
        pacer.observe(nbytes, seconds)
        size = pacer.frame_size()
        assert MIN_FRAME <= size <= MAX_FRAME and size % (4 * KIB) == 0


@given(
    st.lists(
        st.tuples(st.integers(4 * KIB, 2**30), st.floats(0.01, 1e4), st.floats(0.01, 1.0)),
        min_size=1, max_size=20,
    )
)
def test_monotone_in_measured_rate(observations: list[tuple[int, float, float]]) -> None:
    """The same transfers, each taking no longer, never give a smaller frame."""
    slow, fast = FramePacer(target_s=2.0), FramePacer(target_s=2.0)
    for nbytes, seconds, shrink in observations:
        slow.observe(nbytes, seconds)
        fast.observe(nbytes, max(0.01, seconds * shrink))
        assert fast.frame_size() >= slow.frame_size()


def test_cuts_every_20_s_on_3g_give_the_smallest_frames() -> None:
    watch, pacer = CutWatch(0.0), FramePacer()
    pacer.observe(320 * KIB, 10.0)  # 256 kbit/s
    assert pacer.frame_size(watch.frame_s(0.0)) == 32 * KIB  # no cut yet: a second per frame
    for at in (20.0, 40.0, 40.2, 60.0):  # 40.2: a second upload broken by the same cut
        watch.cut(at)
    assert watch.gap_s == pytest.approx(20.0)
    assert pacer.frame_size(watch.frame_s(61.0)) == MIN_FRAME  # 0.2 s of link: the floor
    assert pacer.frame_size(watch.frame_s(60.0 + 1 / CUT_SHARE)) == 32 * KIB  # calm again


@given(st.lists(st.floats(0, 1e6), max_size=20), st.floats(0, 1e6), st.floats(0, 1e6))
def test_cut_frames_never_exceed_the_target_and_grow_while_calm(
        cuts: list[float], later: float, more: float) -> None:
    watch = CutWatch(0.0)
    for at in sorted(cuts):
        watch.cut(at)
    now = watch.last_s + later
    assert 0 <= watch.frame_s(now) <= watch.frame_s(now + more) <= FRAME_TARGET_S


def test_pieces_shrink_on_a_link_that_cuts_often_and_only_then() -> None:
    """3G at 32 KB/s cut every 20 s: a cut then loses half a piece and each piece costs a
    record, ~6 KiB pieces are cheapest."""
    assert piece_size(8192, None, 20.0) == 8192 and piece_size(8192, 32_000, None) == 8192
    size = piece_size(8192, 32_000, 20.0)
    assert 5 * 1024 < size < 7 * 1024

    def cost(piece: int, between: float = 32_000 * 20.0) -> float:
        return RECORD_COST * between / piece + piece / 2

    assert cost(size) < cost(8192) and cost(size) < cost(MIN_PIECE)
    assert piece_size(8192, 10**6, 3600.0) == 8192  # a fast link that rarely cuts
    assert piece_size(8192, 100.0, 1.0) == MIN_PIECE  # GPRS cut every second


@given(st.floats(1, 1e12), st.floats(0, 1e9), st.floats(0, 1e9))
def test_pieces_are_bounded_and_grow_with_the_bytes_between_cuts(
        rate: float, shorter: float, longer: float) -> None:
    shorter, longer = sorted((shorter, longer))
    small, large = piece_size(8192, rate, shorter), piece_size(8192, rate, longer)
    assert MIN_PIECE <= small <= large <= 8192
