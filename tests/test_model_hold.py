"""The status hold: a status the clerk may still withdraw is never one the daemon may send."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.model.hold import (
    AUTOMATIC,
    FUTURE_MS,
    HOLD_MS,
    UNDO_MS,
    may_leave,
    may_withdraw,
    undo_left_s,
)

MS = st.integers(min_value=0, max_value=10**13)
CODES = st.sampled_from(["01", "02", "03", "05", "06"])
# The daemon reads its clock before the queue: its reading may be earlier than the clerk's by
# anything short of FUTURE_MS, or later by what a commit takes (HOLD_MS - UNDO_MS).
LAG = st.integers(min_value=-(FUTURE_MS - 1), max_value=HOLD_MS - UNDO_MS)


@given(CODES, MS, MS, LAG)
def test_withdrawable_status_never_leaves(code: str, at: int, undo_at: int, lag: int) -> None:
    if may_withdraw(code, at, undo_at):
        assert not may_leave(code, at, undo_at + lag)


@given(CODES, MS)
def test_every_status_leaves_after_the_hold(code: str, at: int) -> None:
    assert may_leave(code, at, at + HOLD_MS)
    assert not may_withdraw(code, at, at + UNDO_MS)


@given(MS)
def test_automatic_arrival_is_never_held_nor_withdrawn(at: int) -> None:
    assert may_leave(AUTOMATIC, at, at) and not may_withdraw(AUTOMATIC, at, at)


def test_clerk_status_is_held_then_sent() -> None:
    assert may_withdraw("06", 1_000_000, 1_000_000) and not may_leave("06", 1_000_000, 1_000_000)
    assert undo_left_s(1_000_000, 1_000_000) == 10
    assert undo_left_s(1_000_000, 1_000_000 + 9_001) == 1
    assert undo_left_s(1_000_000, 1_000_000 + UNDO_MS) == 0


def test_status_from_a_clock_set_back_is_sent_at_once() -> None:
    now = 5_000_000
    assert may_leave("03", now + FUTURE_MS + 1, now)
    assert not may_withdraw("03", now + 1, now)
