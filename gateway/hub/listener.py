"""Accepting connections: limits per source address, a handshake deadline, memory given back.

Every connected box holds a connection open all the time (its long-poll), and the hub must
answer enrollment without a certificate, so anyone can open connections too. TLS runs on
:mod:`gateway.hub.tls_protocol` (one read buffer shared by all connections instead of 256 KiB
each): a box holding a long-poll costs the hub about 52 KiB, of which OpenSSL's state for the
connection and the peer's certificate is about 28 (bench.hubmem).

This module owns the accept loop instead of ``loop.create_server`` because the cap has to act
on the source address *before* the handshake, which the protocol factory of ``create_server``
never sees. Per source address it allows ``per_source`` connections (handshakes included), of
which at most ``anonymous_per_source`` without a client certificate once the handshake is done;
the caps are generous because many communes may share one carrier NAT address. A handshake must
finish within ``handshake_s``; the wait for a request's head and the idle time between
requests are aiohttp's keep-alive timeout (``idle_s``); a body is read with ``body_idle_s``
(:mod:`gateway.hub.bodies`) and the rest of a refused one drained for ``linger_s`` at most.
After connections close, glibc is asked to return freed heap pages (``malloc_trim``), at most
once a second: without it 2,000 closed TLS connections left the hub at ~580 MB for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.hub.tls_protocol import start_tls_on

log = logging.getLogger("gateway.hub")
TRIM_DELAY_S = 1.0


@dataclass(frozen=True)
class ConnLimits:
    handshake_s: float = 15.0  # a 2G link needs a few round trips of a second each
    idle_s: float = 30.0  # no request head yet, or idle between requests (box keeps 15 s)
    body_idle_s: float = 60.0  # no byte of a request body for this long ends the request
    linger_s: float = 5.0  # after refusing a body, how long its rest is read and dropped
    per_source: int = 128
    anonymous_per_source: int = 16


def _malloc_trim() -> Callable[[], None]:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None  # not glibc (musl, macOS): nothing to ask
    if trim is None:
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def run() -> None:
        trim(0)

    return run


@dataclass
class Gate:
    """Open connections per source address, and how many of them have no certificate.

    Whether a client has a certificate is known only after the handshake, so the total cap
    acts at accept and the anonymous cap once the handshake is done; counting every new
    connection as anonymous would let anyone behind a shared address lock its communes out.
    """

    limits: ConnLimits
    total: dict[str, int] = field(default_factory=dict)
    anonymous: dict[str, int] = field(default_factory=dict)
    refused: int = 0

    def admit(self, source: str) -> bool:
        if self.total.get(source, 0) >= self.limits.per_source:
            self.refused += 1
            return False
        self.total[source] = self.total.get(source, 0) + 1
        return True

    def admit_anonymous(self, source: str) -> bool:
        if self.anonymous.get(source, 0) >= self.limits.anonymous_per_source:
            self.refused += 1
            return False
        self.anonymous[source] = self.anonymous.get(source, 0) + 1
        return True

    def release(self, source: str, anonymous: bool) -> None:
        _drop(self.total, source)
        if anonymous:
            _drop(self.anonymous, source)

    def open_connections(self) -> int:
        return sum(self.total.values())


def _drop(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


class _Counted(asyncio.Protocol):
    """Forwards to aiohttp's handler; applies the anonymous cap and reports the close."""

    def __init__(self, inner: asyncio.Protocol, listener: Listener, source: str) -> None:
        self.inner = inner
        self.listener = listener
        self.source = source
        self.made = False  # the handshake completed
        self.forwarded = False  # aiohttp saw the connection
        self.anonymous = False  # counted against the anonymous cap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made = True
        if not transport.get_extra_info("peercert"):
            if not self.listener.gate.admit_anonymous(self.source):
                transport.close()  # too many connections without a certificate from here
                return
            self.anonymous = True
        self.forwarded = True
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.forwarded:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.forwarded else None

    def pause_writing(self) -> None:
        if self.forwarded:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.forwarded:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            if self.forwarded:
                self.inner.connection_lost(exc)
        finally:
            self.listener.closed(self.source, self.anonymous)


class Listener:
    """Accepts on ``sock`` and hands each TLS connection to ``factory`` (aiohttp's server)."""

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
                 ctx: ssl.SSLContext, limits: ConnLimits) -> None:
        self.sock = sock
        self.factory = factory
        self.ctx = ctx
        self.gate = Gate(limits)
        self._trim = _malloc_trim()
        self._trim_handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def close(self) -> None:
        """Stops accepting and drops handshakes in progress; served connections stay."""
        for task in (self._task, *self._starting):
            if task is not None:
                task.cancel()
        for task in (self._task, *self._starting):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.sock.close()
        if self._trim_handle is not None:
            self._trim_handle.cancel()

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = await loop.sock_accept(self.sock)
            except OSError as exc:  # EMFILE and friends: breathe, do not spin or die
                log.warning("accept failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            source = str(address[0])
            if not self.gate.admit(source):
                conn.close()  # over the cap: closed before a byte of TLS is spent on it
                continue
            task = loop.create_task(self._handshake(conn, source))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _handshake(self, conn: socket.socket, source: str) -> None:
        counted = _Counted(self.factory(), self, source)
        try:
            await start_tls_on(conn, counted, self.ctx, server_side=True,
                               handshake_s=self.gate.limits.handshake_s)
        except BaseException as exc:
            if not counted.made:  # never reached the application (the socket is closed)
                self.closed(source, anonymous=False)
            if not isinstance(exc, OSError):  # TLS errors and timeouts are OSErrors
                raise

    def closed(self, source: str, anonymous: bool) -> None:
        self.gate.release(source, anonymous)
        if self._trim_handle is None:
            self._trim_handle = asyncio.get_running_loop().call_later(TRIM_DELAY_S, self._trimmed)

    def _trimmed(self) -> None:
        self._trim_handle = None
        self._trim()
