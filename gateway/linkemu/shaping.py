"""Shaping one direction of one proxied connection: a token bucket and a bounded delay line.

Each direction is a small pipeline::

    src socket --read, when the token bucket allows--> delay line --at due time--> dst socket

Nothing here buffers more than the link could hold (the proxy's module doc says why that
matters):

* reads are small (<= 4 KiB, about 20 ms of link time) and only happen when the bucket is
  out of debt, so unread bytes stay in the (small) kernel buffer and TCP flow control pushes
  back on the sender;
* the delay line holds at most about one bandwidth-delay product (+ a few KiB);
* writes use ``sock_sendall``, which waits for room in the destination's kernel buffer, so a
  slow receiver stalls the delay line, which stalls the reader.

:class:`gateway.linkemu.proxy.LinkProxy` builds two :class:`Pipe` objects per connection and
owns sockets, cuts and counters; this module only moves bytes at the link's pace.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

__all__ = [
    "MAX_CHUNK", "MIN_CHUNK", "UNLIMITED_CHUNK", "UNLIMITED_LINE", "Pipe", "TokenBucket",
    "link_bucket",
]

MIN_CHUNK, MAX_CHUNK = 512, 4096  # read sizes on a rate-limited direction
UNLIMITED_CHUNK = 64 * 1024  # read size when the direction has no rate limit
UNLIMITED_LINE = 1024 * 1024  # delay-line bound without a rate limit (no BDP to size it)


class TokenBucket:
    """Token bucket that may go into debt by one read.

    The reader reads as soon as the bucket is out of debt and charges the whole chunk; the
    resulting debt is when the chunk's last byte would have left a real line, so that is
    when its propagation delay starts. Exact average rate, bursts of at most ``burst``.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._stamp = burst, clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until the bucket is out of debt (0.0: a read may start now)."""
        self._refill()
        return max(0.0, -self._tokens / self.rate)

    def consume(self, n: int) -> float:
        """Charge ``n`` bytes; return seconds until they are fully serialised on the line."""
        self._refill()
        self._tokens -= n
        return max(0.0, -self._tokens / self.rate)


def link_bucket(bps: int, clock: Callable[[], float]) -> TokenBucket:
    """The token bucket of one direction of a line of ``bps`` bits per second."""
    rate = bps / 8
    return TokenBucket(rate, max(1500.0, rate * 0.02), clock)


class Pipe:
    """One direction of one connection: reader -> delay line -> writer (see module doc)."""

    def __init__(
        self,
        src: socket.socket,
        dst: socket.socket,
        bps: int | None,
        one_way_s: float,
        clock: Callable[[], float],
        delivered: Callable[[int], None],
        bucket: TokenBucket | None = None,
    ) -> None:
        self.src, self.dst, self.one_way_s, self.clock = src, dst, one_way_s, clock
        self.delivered = delivered
        self.bucket: TokenBucket | None = None
        self.chunk, self.limit = UNLIMITED_CHUNK, UNLIMITED_LINE
        if bps is not None:
            rate = bps / 8
            # One line, one bottleneck: every connection of a proxy charges the same bucket
            # for its direction, so parallel connections share the rate as they would on 3G.
            self.bucket = bucket or link_bucket(bps, clock)
            self.chunk = int(min(MAX_CHUNK, max(MIN_CHUNK, rate * 0.02)))
            self.limit = int(rate * one_way_s) + 2 * self.chunk + 4096
        self.line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()  # b"" marks EOF
        self.in_flight = 0
        self.space = asyncio.Event()

    async def read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self.in_flight >= self.limit:
                self.space.clear()
                await self.space.wait()
            if self.bucket is not None and (wait := self.bucket.wait_time()) > 0:
                await asyncio.sleep(wait)  # an early wake-up only adds a sliver of debt
            data = await loop.sock_recv(self.src, min(self.chunk, self.limit - self.in_flight))
            serialise = self.bucket.consume(len(data)) if self.bucket is not None else 0.0
            self.in_flight += len(data)
            self.line.put_nowait((self.clock() + serialise + self.one_way_s, data))
            if not data:
                return

    async def write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await self.line.get()
            if (delay := due - self.clock()) > 0:
                await asyncio.sleep(delay)
            if not data:
                self.dst.shutdown(socket.SHUT_WR)  # propagate the half-close
                return
            await loop.sock_sendall(self.dst, data)
            self.in_flight -= len(data)
            self.space.set()
            self.delivered(len(data))
