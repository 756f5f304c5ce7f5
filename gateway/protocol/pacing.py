"""Adaptive blob frame size (docs/protocol.md §7): about a second of link time per frame.

A frame is the unit lost by a cut and the unit a Hỏa tốc document waits behind, so it should
take a bounded time on the wire whatever the link: 2G at 5 KB/s and fibre at 10 MB/s both get
frames of about ``target_s`` seconds, clamped to 16 KiB … 1 MiB. Throughput is an EWMA of the
observed transfers; transfers too small to measure (latency dominates) are ignored.
"""

from __future__ import annotations

import math

from gateway.protocol.limits import FRAME_TARGET_S, MAX_FRAME, MIN_FRAME, START_FRAME

STEP = 4 * 1024
MIN_SAMPLE_BYTES = 4 * 1024
MIN_SAMPLE_S = 0.01


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

    def frame_size(self) -> int:
        """Bytes for the next frame: a multiple of 4 KiB within [16 KiB, 1 MiB]."""
        if self.rate is None:
            return START_FRAME
        wanted = self.rate * self.target_s
        if wanted >= MAX_FRAME:
            return MAX_FRAME
        return max(MIN_FRAME, int(wanted) // STEP * STEP)
