"""User-space TCP proxy that behaves like a thin, unreliable link (the kernel has no netem).

Each direction of each connection is a :class:`gateway.linkemu.shaping.Pipe`: a reader held
to the link rate by a token bucket, feeding a delay line bounded to about one bandwidth-delay
product. This module owns the sockets around it: listening, connecting upstream, cuts and
blackouts, and the byte counters.

No hidden buffering: a link emulator that swallows megabytes into socket buffers lets a
sender "finish" an upload long before the bytes could have crossed the link, and every
timeout, progress bar and benchmark built on top becomes a lie. So both proxy sockets have
``SO_RCVBUF``/``SO_SNDBUF`` capped (16 KiB, see :func:`cap_socket_buffers`; peers should cap
theirs too), and the pipes read little, hold little and write only when the destination's
kernel buffer has room (see :mod:`gateway.linkemu.shaping`).

A fast sender is therefore held to the link rate, give or take a few tens of KiB held in
all buffers together (~26 KiB measured at 256 kbit/s with both peers capped).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from gateway.linkemu.profiles import LinkProfile, cut_offsets
from gateway.linkemu.shaping import MAX_CHUNK as MAX_CHUNK
from gateway.linkemu.shaping import MIN_CHUNK as MIN_CHUNK
from gateway.linkemu.shaping import UNLIMITED_CHUNK as UNLIMITED_CHUNK
from gateway.linkemu.shaping import UNLIMITED_LINE as UNLIMITED_LINE
from gateway.linkemu.shaping import Pipe, TokenBucket, link_bucket

__all__ = ["LinkProxy", "LinkStats", "TokenBucket", "cap_socket_buffers"]

log = logging.getLogger(__name__)

SOCKET_BUFFER = 16 * 1024
CONNECT_TIMEOUT_S = 10.0



class _HasSetsockopt(Protocol):
    def setsockopt(self, level: int, optname: int, value: int, /) -> None: ...


def cap_socket_buffers(sock: _HasSetsockopt, size: int = SOCKET_BUFFER) -> None:
    """Cap a socket's kernel send and receive buffers (Linux doubles the value given).

    Loopback sockets autotune to megabytes; call this before connect/listen on the peers'
    sockets too (works on ``writer.get_extra_info("socket")``), and keep asyncio write
    buffers small (``transport.set_write_buffer_limits``), or the link rate is invisible.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _tune(sock: socket.socket) -> None:
    cap_socket_buffers(sock)
    # Without NODELAY, Nagle + delayed ACK would add ~40 ms of latency nobody asked for.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _abort(sock: socket.socket) -> None:
    """Close with SO_LINGER 0 so the peer sees a reset, not a clean EOF. Idempotent."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@dataclass(frozen=True)
class LinkStats:
    """Counters since start. Bytes count when handed to the destination's kernel buffer.

    ``blackout_seconds`` is the time spent refusing connections, so the physical limit of a
    transfer is ``bytes / rate + blackout_seconds``.
    """

    bytes_up: int
    bytes_down: int
    connections: int
    cuts: int
    refused: int
    blackout_seconds: float


class LinkProxy:
    """Loopback TCP proxy ``client -> proxy -> target`` shaped by a :class:`LinkProfile`.

    Cuts follow a seeded schedule (:func:`cut_offsets`, relative to :meth:`start`): every
    open connection is reset on both sides, then new connections are accepted and
    immediately reset for ``blackout_s``. Tests drive it by hand with ``auto_cuts=False``,
    :meth:`cut_now`, :meth:`blackout` and :meth:`pause_cuts`/:meth:`resume_cuts`.

    ``clock`` is the time base for rates, delays and blackout accounting; it must tick in
    real seconds (the proxy sleeps on the event loop).
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        profile: LinkProfile,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        auto_cuts: bool = True,
    ) -> None:
        self.target = (target_host, target_port)
        self.profile, self.seed = profile, seed
        self._listen = (listen_host, listen_port)
        self._clock, self._auto_cuts = clock, auto_cuts
        self._listener: socket.socket | None = None
        self._up_bucket: TokenBucket | None = None
        self._down_bucket: TokenBucket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._cut_task: asyncio.Task[None] | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._paused = False
        self._started_at = clock()
        self._cut_times: list[float] = []
        self._bytes_up = self._bytes_down = self._connections = self._refused = 0
        self._bo_start = self._bo_until = self._started_at  # current/last blackout interval
        self._bo_done = 0.0  # length of finished blackout intervals
        self._downs: list[tuple[float, float]] = []  # every blackout interval, merged

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start accepting (and the cut schedule, if any)."""
        if self._listener is not None:
            raise RuntimeError("LinkProxy already started")
        p, clock = self.profile, self._clock
        self._up_bucket = link_bucket(p.up_bps, clock) if p.up_bps else None
        self._down_bucket = link_bucket(p.down_bps, clock) if p.down_bps else None
        host, port = self._listen
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            _tune(sock)  # before listen(): accepted sockets inherit, window scale included
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._listener = sock
        self._started_at = self._bo_start = self._bo_until = self._clock()
        self._accept_task = asyncio.create_task(self._accept_loop(sock))
        if self._auto_cuts and self.profile.cut_every_s is not None:
            self._cut_task = asyncio.create_task(self._cut_loop(self.profile.cut_every_s))

    async def stop(self) -> None:
        """Stop accepting, reset every open connection and wait until all tasks are gone."""
        tasks = [t for t in (self._accept_task, self._cut_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._accept_task = self._cut_task = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        await self._reset_all()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- introspection ------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``listen_port=0``)."""
        if self._listener is None:
            raise RuntimeError("LinkProxy not started")
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def active_connections(self) -> int:
        return len(self._conns)

    @property
    def cut_times(self) -> tuple[float, ...]:
        """When cuts happened, in seconds after :meth:`start` (manual ones included)."""
        return tuple(self._cut_times)

    @property
    def down_intervals(self) -> tuple[tuple[float, float], ...]:
        """Every blackout so far as (start, end) on the proxy's clock, overlapping ones
        merged; the running one ends when it is due to. What a transfer's physical limit adds
        to its bytes ÷ rate, for any window of it (``blackout_seconds`` is their sum)."""
        return tuple(self._downs)

    def planned_cuts(self, count: int) -> list[float]:
        """The first ``count`` scheduled cut times (seconds after start) for this seed."""
        if self.profile.cut_every_s is None:
            return []
        return list(itertools.islice(cut_offsets(self.profile.cut_every_s, self.seed), count))

    @property
    def stats(self) -> LinkStats:
        now = self._clock()
        current = max(0.0, min(now, self._bo_until) - self._bo_start)
        return LinkStats(
            bytes_up=self._bytes_up,
            bytes_down=self._bytes_down,
            connections=self._connections,
            cuts=len(self._cut_times),
            refused=self._refused,
            blackout_seconds=self._bo_done + current,
        )

    # -- manual controls ----------------------------------------------------------------

    async def cut_now(self, blackout: float | None = None) -> int:
        """Reset every open connection, then refuse new ones for ``blackout`` seconds
        (default: the profile's). Returns how many connections were cut."""
        self._cut_times.append(self._clock() - self._started_at)
        self.blackout(self.profile.blackout_s if blackout is None else blackout)
        return await self._reset_all()

    def blackout(self, seconds: float) -> None:
        """Refuse new connections for ``seconds`` (open ones are untouched: see cut_now)."""
        if seconds <= 0:
            return
        now = self._clock()
        if now >= self._bo_until:  # a new interval starts; bank the previous one
            self._bo_done += self._bo_until - self._bo_start
            self._bo_start = now
        self._bo_until = max(self._bo_until, now + seconds)
        if self._downs and self._downs[-1][0] == self._bo_start:
            self._downs[-1] = (self._bo_start, self._bo_until)
        else:
            self._downs.append((self._bo_start, self._bo_until))

    def pause_cuts(self) -> None:
        """Skip scheduled cuts until :meth:`resume_cuts` (the schedule itself keeps going)."""
        self._paused = True

    def resume_cuts(self) -> None:
        self._paused = False

    # -- internals ----------------------------------------------------------------------

    async def _reset_all(self) -> int:
        victims = list(self._conns)
        for task in victims:
            task.cancel()  # _serve's cleanup aborts both sockets
        await asyncio.gather(*victims, return_exceptions=True)
        return len(victims)

    async def _cut_loop(self, mean_s: float) -> None:
        for offset in cut_offsets(mean_s, self.seed):
            if (delay := self._started_at + offset - self._clock()) > 0:
                await asyncio.sleep(delay)
            if self._paused:
                continue
            try:
                cut = await self.cut_now()
            except Exception:  # never let the schedule die silently
                log.exception("link cut failed")
            else:
                log.info("link cut at %.1f s: %d connection(s) reset", offset, cut)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(listener)
            except OSError as exc:  # e.g. EMFILE: back off instead of spinning
                log.warning("accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            client.setblocking(False)
            if self._clock() < self._bo_until:
                self._refused += 1
                _abort(client)
                continue
            self._connections += 1
            task = asyncio.create_task(self._serve(client))
            self._conns.add(task)
            task.add_done_callback(functools.partial(self._conn_done, client))

    def _conn_done(self, client: socket.socket, task: asyncio.Task[None]) -> None:
        self._conns.discard(task)
        _abort(client)  # no-op if closed; covers a task cancelled before it ever ran

    def _count_up(self, n: int) -> None:
        self._bytes_up += n

    def _count_down(self, n: int) -> None:
        self._bytes_down += n

    async def _connect_upstream(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(*self.target, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"{self.target} did not resolve")
        for family, kind, proto, _, addr in infos:  # "localhost" may give ::1 first
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                _tune(sock)
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await loop.sock_connect(sock, addr)
            except OSError as exc:
                sock.close()
                error = exc
            except BaseException:
                sock.close()
                raise
            else:
                return sock
        raise error

    async def _serve(self, client: socket.socket) -> None:
        """Run one connection; clean close if both directions ended in EOF, reset otherwise."""
        server: socket.socket | None = None
        tasks: list[asyncio.Task[None]] = []
        clean = False
        try:
            _tune(client)
            server = await self._connect_upstream()
            one_way, clock = self.profile.one_way_s, self._clock
            up = Pipe(client, server, self.profile.up_bps, one_way, clock, self._count_up,
                       self._up_bucket)
            down = Pipe(server, client, self.profile.down_bps, one_way, clock,
                         self._count_down, self._down_bucket)
            loops = (up.read_loop(), up.write_loop(), down.read_loop(), down.write_loop())
            tasks = [asyncio.create_task(c) for c in loops]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            clean = all(t.done() and t.exception() is None for t in tasks)
        except (OSError, TimeoutError) as exc:
            log.debug("connection to %s:%d failed: %r", *self.target, exc)
        except Exception:
            log.exception("link emulator connection crashed")
        finally:
            for task in tasks:
                task.cancel()
            try:  # let the pipes unregister from the selector before their sockets close
                results = await asyncio.gather(*tasks, return_exceptions=True)
                if errors := [r for r in results if isinstance(r, Exception)]:
                    log.debug("connection ended with %r", errors[0])
            finally:  # even if cancelled again (a cut racing stop()): never leak a socket
                for sock in (client, server):
                    if sock is not None and clean:
                        sock.close()
                    elif sock is not None:
                        _abort(sock)
