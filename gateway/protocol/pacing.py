"""Adaptive blob frame size (docs/protocol.md §7): about a second of link time per frame.

A frame is the unit a Hỏa tốc document waits behind and, to a hub that keeps no piece of an
interrupted frame, the unit lost by a cut, so it should take a bounded time on the wire
whatever the link: 2G at 5 KB/s and fibre at 10 MB/s both get frames of about ``target_s``
seconds, clamped to 8 KiB … 1 MiB. Throughput is an EWMA of the observed transfers; transfers
too small to measure (latency dominates) are ignored. To a hub that keeps pieces a cut loses
about half a TLS record instead: :func:`piece_size` sizes those.
"""

from __future__ import annotations

import math

from gateway.protocol.limits import FRAME_TARGET_S, MAX_FRAME, MIN_FRAME, START_FRAME

STEP = 4 * 1024
MIN_SAMPLE_BYTES = 4 * 1024
MIN_SAMPLE_S = 0.01
CUT_SHARE = 0.01  # frame time ÷ time between cuts (half a frame is lost per cut)
SAME_CUT_S = 1.0  # transfers broken within this of each other met one cut
RECORD_COST = 30  # bytes a TLS 1.3 record and an HTTP chunk add to each piece of a frame
MIN_PIECE = 2 * 1024


class FramePacer:
    """Pure: the caller measures (bytes sent, seconds taken) and asks for the next size."""

    def __init__(self, target_s: float = FRAME_TARGET_S, *, alpha: float = 0.3) -> None:
        if not (math.isfinite(target_s) and target_s > 0 and 0 < alpha <= 1):
            raise ValueError("target_s must be > 0 and alpha within (0, 1]")
        self.target_s = target_s
        self.alpha = alpha
        self.rate: float | None = None  # bytes per second, None before the first sample

    def observe(self, nbytes: int, seconds: float) -> None:
        """Fold one transfer into the throughput estimate; tiny or absurd samples are ignored."""
        if nbytes < MIN_SAMPLE_BYTES or not (math.isfinite(seconds) and seconds >= MIN_SAMPLE_S):
            return
        sample = min(nbytes, 2**53) / seconds
        if self.rate is None:
            self.rate = sample
        else:  # this form is monotone in both terms, so a faster sample never shrinks frames
            self.rate = self.rate * (1 - self.alpha) + sample * self.alpha

    def frame_size(self, target_s: float | None = None) -> int:
        """Bytes for the next frame: a multiple of 4 KiB within [8 KiB, 1 MiB]; ``target_s``
        (e.g. :meth:`CutWatch.frame_s`) overrides the link time per frame."""
        if self.rate is None:
            return START_FRAME if target_s is None else min(START_FRAME, max(
                MIN_FRAME, int(START_FRAME * target_s / self.target_s) // STEP * STEP))
        wanted = self.rate * (self.target_s if target_s is None else target_s)
        if wanted >= MAX_FRAME:
            return MAX_FRAME
        return max(MIN_FRAME, int(wanted) // STEP * STEP)


class CutWatch:
    """How often a link cuts transfers, so that frames shrink on a link that cuts often.

    A cut loses the frame in flight, half a frame on average; frames of :data:`CUT_SHARE` of
    the time between cuts keep that loss to about half a percent of the link's time (on 3G cut
    every 20 s: the 8 KiB floor instead of 32 KiB, 12 KiB less re-sent per cut). The time
    between cuts is an EWMA of the gaps, and a gap still running counts as soon as it is longer,
    so frames grow back on a link that stopped cutting. Times are seconds on any one clock.
    """

    def __init__(self, started_s: float, *, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.last_s = started_s  # the first cut's gap is measured from the start
        self.gap_s: float | None = None

    def cut(self, at_s: float) -> None:
        """Records a cut; another transfer broken by the same cut (within
        :data:`SAME_CUT_S`) is not a second one."""
        if self.gap_s is not None and at_s - self.last_s < SAME_CUT_S:
            return
        gap = max(0.0, at_s - self.last_s)
        self.gap_s = gap if self.gap_s is None else self.gap_s * (1 - self.alpha) + gap * self.alpha
        self.last_s = at_s

    def between_s(self, now_s: float) -> float | None:
        """The time between cuts (a gap still running counts once it is longer); None
        before the first cut."""
        return None if self.gap_s is None else max(self.gap_s, now_s - self.last_s)

    def frame_s(self, now_s: float, target_s: float = FRAME_TARGET_S) -> float:
        """Link time per frame: ``target_s``, or less while cuts come often."""
        between = self.between_s(now_s)
        return target_s if between is None else min(target_s, between * CUT_SHARE)


def piece_size(largest: int, rate: float | None, between_s: float | None) -> int:
    """Bytes per piece of a frame (one TLS record each) when the receiver keeps what arrived
    of an interrupted frame: a cut then loses about half a record, and every record costs
    :data:`RECORD_COST`. On a link that cuts every ``B`` bytes the two together are least for
    pieces of sqrt(2 × RECORD_COST × B): 3G cut every 20 s gets ~6 KiB. At most ``largest``
    (the granularity a more urgent upload waits for), at least :data:`MIN_PIECE`."""
    if rate is None or between_s is None:
        return largest
    best = math.sqrt(2 * RECORD_COST * min(rate * between_s, 2.0**60))
    return max(MIN_PIECE, min(largest, int(best)))
