"""Virtual time for scheduling tests: a clock and a sleep that move only when the test says.

The sync engine takes its clock and its sleep as arguments; given these, a backoff of an hour
passes the moment a test calls :meth:`VirtualTime.advance`, and nothing waits on a real timer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

START_MS = 1_750_000_000_000


class VirtualTime:
    def __init__(self, start_ms: int = START_MS) -> None:
        self.now_ms = start_ms
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> int:
        return self.now_ms

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        """Resolves once the clock has been advanced by ``seconds`` from now, the moment of
        the call (not of the first await: a test may advance in between)."""
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            wake.set_result(None)
        else:
            due = self.now_ms + max(1, round(seconds * 1000))
            heapq.heappush(self._sleepers, (due, next(self._order), wake))
        return wake

    def pending(self) -> list[int]:
        """When the sleepers that still wait are due (ms), soonest first: a test advances to
        one of them once the task it expects is asleep."""
        return sorted(due for due, _, wake in self._sleepers if not wake.done())

    def advance(self, seconds: float) -> None:
        """Moves the clock on and wakes every sleeper that is due."""
        self.now_ms += round(seconds * 1000)
        while self._sleepers and self._sleepers[0][0] <= self.now_ms:
            _, _, wake = heapq.heappop(self._sleepers)
            if not wake.done():
                wake.set_result(None)

    def advance_to(self, ms: int) -> None:
        self.advance(max(0, ms - self.now_ms) / 1000)
