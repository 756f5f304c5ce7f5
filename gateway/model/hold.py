"""How long a clerk's status waits on the box, so that it can be taken back (pure).

A status the clerk records (03, 05, 06, 02) tells the sender something, and statuses only move
forward (:mod:`gateway.model.delivery`): once it has reached the hub it cannot be unsaid. So
the daemon leaves a fresh status alone for :data:`HOLD_MS`, and the clerk may withdraw it for
:data:`UNDO_MS`. The gap between the two covers the daemon reading its clock a moment before
it reads the queue, and a write still committing on a slow SD card: whenever
:func:`may_withdraw` says yes, no request the daemon builds can carry that status
(tests/test_model_hold.py proves it for every order of the two clocks).

A status stamped far in the future (the box's clock, which has no battery, was set back
since) is sent at once rather than held until the clock catches up.
"""

from __future__ import annotations

UNDO_MS = 10_000  # the clerk's window to take a status back
HOLD_MS = 12_000  # how long the daemon leaves a fresh status on the box
FUTURE_MS = 10 * 60_000  # a status stamped further ahead than this is sent at once
AUTOMATIC = "01"  # "Đã đến" is the box's own receipt, never held and never withdrawn


def may_leave(code: str, at_ms: int, now_ms: int) -> bool:
    """Whether the daemon may put a status recorded at ``at_ms`` into a request now."""
    return code == AUTOMATIC or at_ms <= now_ms - HOLD_MS or at_ms > now_ms + FUTURE_MS


def may_withdraw(code: str, at_ms: int, now_ms: int) -> bool:
    """Whether the clerk may still take back a status recorded at ``at_ms``."""
    return code != AUTOMATIC and now_ms - UNDO_MS < at_ms <= now_ms


def undo_left_s(at_ms: int, now_ms: int) -> int:
    """Whole seconds left to take a status back (0 when the window has closed)."""
    return max(0, -(-(at_ms + UNDO_MS - now_ms) // 1000)) if at_ms <= now_ms else 0
