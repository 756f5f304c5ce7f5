"""Link emulator tests: real sockets on loopback, generous timing tolerances (loaded CI box)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import islice
from pathlib import Path

import pytest

from gateway.linkemu import (
    PROFILES,
    LinkProfile,
    LinkProxy,
    TokenBucket,
    cap_socket_buffers,
    cut_offsets,
    get_profile,
)
from gateway.linkemu.__main__ import main

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LAN = PROFILES["lan"]
RESET_ERRORS = (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)


class Server:
    """Tiny loopback server that tracks its handlers so teardown leaves nothing behind."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = 0
        self.outcomes: list[str] = []  # "eof", "reset" or "done" per connection
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._run, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handler(reader, writer)
            self.outcomes.append("done")
        except (ConnectionError, OSError):
            self.outcomes.append("reset")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            self._tasks.discard(task)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.write_eof()


async def digest_sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read until EOF, then answer ``sha256 || first-byte time || last-byte time``."""
    h, first, last = hashlib.sha256(), 0.0, 0.0
    while data := await reader.read(65536):
        last = time.monotonic()
        first = first or last
        h.update(data)
    writer.write(h.digest() + f"{first!r} {last!r}".encode())
    await writer.drain()


@contextlib.asynccontextmanager
async def connect(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def expect_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The proxy must reset the connection, not close it cleanly."""
    with pytest.raises(RESET_ERRORS):
        async with asyncio.timeout(3):
            writer.write(b"ping")
            await writer.drain()
            await reader.readexactly(4)


async def expect_refused(port: int) -> None:
    """A refused connection is reset right after accept: connect itself may already fail."""
    with pytest.raises(RESET_ERRORS):
        async with connect(port) as (reader, writer):
            async with asyncio.timeout(3):
                writer.write(b"ping")
                await writer.drain()
                await reader.readexactly(4)


@contextlib.asynccontextmanager
async def link(
    handler: Handler, profile: LinkProfile, *, seed: int = 0, auto_cuts: bool = True
) -> AsyncIterator[tuple[Server, LinkProxy]]:
    """A test server behind a link proxy."""
    async with Server(handler) as server:
        proxy = LinkProxy("127.0.0.1", server.port, profile, seed=seed, auto_cuts=auto_cuts)
        async with proxy:
            yield server, proxy


async def roundtrip(port: int) -> None:
    async with connect(port) as (reader, writer):
        writer.write(b"hello")
        async with asyncio.timeout(3):
            assert await reader.readexactly(5) == b"hello"


async def eventually(check: Callable[[], bool], within: float = 3.0) -> None:
    """Poll: some counters are bumped a loop iteration after the peer already has the data."""
    for _ in range(int(within / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


# -- pure parts ----------------------------------------------------------------------------


def test_profiles_and_lookup() -> None:
    assert get_profile("lan") == LinkProfile("lan")
    adsl, bad = get_profile("adsl"), get_profile("3g-bad")
    assert (adsl.down_bps, adsl.up_bps, adsl.rtt_ms, adsl.cut_every_s) == (2e6, 512e3, 80, 60)
    assert (bad.down_bps, bad.up_bps, bad.rtt_ms, bad.blackout_s) == (1e6, 256e3, 400, 5)
    with pytest.raises(ValueError, match="3g-bad"):
        get_profile("dialup")
    with pytest.raises(ValueError):
        LinkProfile("x", up_bps=0)
    fast = bad.scaled(bandwidth=8, time=0.05)
    assert (fast.up_bps, fast.rtt_ms, fast.cut_every_s, fast.blackout_s) == (2_048_000, 20, 1, 0.25)
    assert dataclasses.replace(bad, cut_every_s=None).cut_every_s is None


def test_token_bucket_with_fake_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=1000, burst=1500, clock=lambda: now[0])
    assert bucket.consume(1000) == 0.0  # within the burst
    assert bucket.consume(1000) == pytest.approx(0.5)  # 500 bytes of debt
    assert bucket.wait_time() == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.wait_time() == pytest.approx(0.0)
    now[0] = 100.0  # idle: refills, but only up to the burst
    assert bucket.consume(1500) == 0.0
    assert bucket.consume(1) == pytest.approx(0.001)


def test_cut_schedule_is_deterministic() -> None:
    a, b = list(islice(cut_offsets(20, 1), 50)), list(islice(cut_offsets(20, 1), 50))
    assert a == b
    assert a != list(islice(cut_offsets(20, 2), 50))
    gaps = [y - x for x, y in zip([0.0, *a], a, strict=False)]
    assert all(10 <= g <= 30 for g in gaps)
    bad = PROFILES["3g-bad"]
    plans = [LinkProxy("h", 1, bad, seed=5).planned_cuts(5) for _ in range(2)]
    assert plans[0] == plans[1] == list(islice(cut_offsets(20, 5), 5))
    assert LinkProxy("h", 1, LAN).planned_cuts(5) == []


def test_blackout_accounting_with_fake_clock() -> None:
    now = [0.0]
    proxy = LinkProxy("h", 1, LAN, clock=lambda: now[0])
    proxy.blackout(5)
    now[0] = 2
    assert proxy.stats.blackout_seconds == 2
    proxy.blackout(1)  # inside the current blackout: no extension, no double count
    now[0] = 10
    assert proxy.stats.blackout_seconds == 5
    proxy.blackout(2)
    now[0] = 11
    assert proxy.stats.blackout_seconds == 6
    now[0] = 20
    assert proxy.stats.blackout_seconds == 7
    assert proxy.down_intervals == ((0, 5), (10, 12))


def test_down_intervals_merge_a_blackout_that_extends_the_running_one() -> None:
    now = [0.0]
    proxy = LinkProxy("h", 1, LAN, clock=lambda: now[0])
    proxy.blackout(5)
    now[0] = 3
    proxy.blackout(4)
    now[0] = 30
    proxy.blackout(1)
    assert proxy.down_intervals == ((0, 7), (30, 31))
    now[0] = 40
    assert proxy.stats.blackout_seconds == sum(b - a for a, b in proxy.down_intervals) == 8


# -- data path ------------------------------------------------------------------------------


async def test_integrity_both_directions_lan() -> None:
    payload = os.urandom(300_000)
    async with link(echo, LAN) as (server, proxy):
        async with connect(proxy.port) as (reader, writer):

            async def send() -> None:
                for i in range(0, len(payload), 7000):
                    writer.write(payload[i : i + 7000])
                    await writer.drain()
                writer.write_eof()

            sender = asyncio.create_task(send())
            async with asyncio.timeout(5):
                received = await reader.read(-1)  # echo half-closes after our EOF
            await sender
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        await eventually(lambda: proxy.stats.bytes_down == len(payload))
        stats = proxy.stats
        assert (stats.bytes_up, stats.connections, stats.cuts, stats.refused) == (300_000, 1, 0, 0)
        await eventually(lambda: proxy.active_connections == 0)
        await eventually(lambda: server.outcomes == ["done"])


async def test_half_close_and_integrity_through_shaped_link() -> None:
    """Data + EOF go up through latency and a rate limit; the answer comes back after EOF."""
    profile = PROFILES["3g-bad"].scaled(bandwidth=8, time=0.1)  # 2 Mbit up, 40 ms RTT
    payload = os.urandom(64 * 1024)
    async with link(digest_sink, profile, auto_cuts=False) as (_, proxy):
        async with connect(proxy.port) as (reader, writer):
            writer.write(payload)
            writer.write_eof()
            async with asyncio.timeout(5):
                answer = await reader.read(-1)
        assert answer[:32] == hashlib.sha256(payload).digest()
        await eventually(lambda: proxy.stats.bytes_down == len(answer))
        assert proxy.stats.bytes_up == len(payload)


async def test_upstream_rate_limit() -> None:
    """48 KiB at 256 kbit/s (32 kB/s) is ~1.5 s of link time; a fast sender must wait."""
    payload = os.urandom(48 * 1024)
    profile = LinkProfile("slow-up", up_bps=256_000)
    async with link(digest_sink, profile) as (_, proxy), connect(proxy.port) as (reader, writer):
        start = time.monotonic()
        writer.write(payload)
        writer.write_eof()
        async with asyncio.timeout(5):
            answer = await reader.read(-1)
        elapsed = time.monotonic() - start
    first, last = map(float, answer[32:].split())
    achieved = len(payload) / (last - first)
    print(f"upstream: {elapsed:.2f} s, {achieved * 8 / 1000:.0f} kbit/s (configured 256)")
    assert 1.3 <= elapsed <= 3.0
    assert 0.6 * 32_000 <= achieved <= 1.25 * 32_000  # > 1: the initial burst


async def test_downstream_rate_limit() -> None:
    """64 KiB at 512 kbit/s (64 kB/s) is ~1 s."""
    payload = os.urandom(64 * 1024)

    async def blast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()

    profile = LinkProfile("slow-down", down_bps=512_000)
    async with link(blast, profile) as (_, proxy):
        async with connect(proxy.port) as (reader, _):
            start = time.monotonic()
            async with asyncio.timeout(5):
                received = await reader.read(-1)
            elapsed = time.monotonic() - start
        assert received == payload
        assert proxy.stats.bytes_down == len(payload)
    print(f"downstream: {elapsed:.2f} s, {len(payload) * 8 / elapsed / 1000:.0f} kbit/s (512)")
    assert 0.85 <= elapsed <= 3.0


async def test_backpressure_no_hidden_buffering() -> None:
    """A sender with capped buffers gets barely more than the link rate accepted."""
    loop = asyncio.get_running_loop()
    profile = LinkProfile("slow-up", up_bps=256_000)
    async with link(digest_sink, profile) as (_, proxy):
        with socket.socket() as sock:
            sock.setblocking(False)
            cap_socket_buffers(sock)
            await loop.sock_connect(sock, ("127.0.0.1", proxy.port))
            accepted, start, chunk = 0, time.monotonic(), b"x" * 1024
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.5):
                    while True:
                        await loop.sock_sendall(sock, chunk)
                        accepted += len(chunk)
            elapsed = time.monotonic() - start
            delivered = proxy.stats.bytes_up
    hidden = accepted - delivered
    print(f"accepted {accepted} B in {elapsed:.2f} s, delivered {delivered} B ({hidden} B held)")
    assert delivered <= 32_000 * elapsed + 1500 + 1024
    assert hidden <= 128 * 1024  # unshaped loopback would swallow megabytes


async def test_added_latency() -> None:
    profile = LinkProfile("far", rtt_ms=200)
    async with link(echo, profile) as (_, proxy), connect(proxy.port) as (reader, writer):
        rtts = []
        for _ in range(3):
            start = time.monotonic()
            writer.write(b"p")
            async with asyncio.timeout(3):
                await reader.readexactly(1)
            rtts.append(time.monotonic() - start)
    print("round trips:", [f"{r * 1000:.0f} ms" for r in rtts])
    assert min(rtts) >= 0.195
    assert sorted(rtts)[1] <= 0.45


# -- cuts and blackouts ---------------------------------------------------------------------


async def test_cut_now_resets_both_sides() -> None:
    async with link(echo, LAN) as (server, proxy):
        async with connect(proxy.port) as (reader, writer):
            writer.write(b"hi")
            assert await reader.readexactly(2) == b"hi"
            assert await proxy.cut_now() == 1
            await expect_reset(reader, writer)
        assert (proxy.stats.cuts, proxy.active_connections) == (1, 0)
        await eventually(lambda: server.outcomes == ["reset"])
        await roundtrip(proxy.port)  # no blackout on this profile: usable again


async def test_blackout_refuses_then_recovers() -> None:
    async with link(echo, LAN) as (_, proxy):
        proxy.blackout(0.5)
        start = time.monotonic()
        await expect_refused(proxy.port)
        await eventually(lambda: proxy.stats.refused == 1)
        await asyncio.sleep(0.55 - (time.monotonic() - start))
        await roundtrip(proxy.port)
        stats = proxy.stats
        assert (stats.refused, stats.connections) == (1, 1)
        assert stats.blackout_seconds == pytest.approx(0.5)


async def test_cut_starts_profile_blackout() -> None:
    async with link(echo, LinkProfile("flaky", blackout_s=0.4)) as (_, proxy):
        await proxy.cut_now()
        await expect_refused(proxy.port)
        await asyncio.sleep(0.45)
        await roundtrip(proxy.port)
        assert (proxy.stats.cuts, proxy.stats.refused) == (1, 1)


async def test_scheduled_cuts_follow_seeded_plan() -> None:
    async with link(echo, LinkProfile("cutty", cut_every_s=0.4), seed=3) as (_, proxy):
        plan = proxy.planned_cuts(2)
        async with connect(proxy.port) as (reader, writer):
            await eventually(lambda: proxy.stats.cuts >= 1)
            await expect_reset(reader, writer)
        await eventually(lambda: proxy.stats.cuts >= 2)
        for actual, planned in zip(proxy.cut_times, plan, strict=False):
            assert planned - 0.01 <= actual <= planned + 0.4
        proxy.pause_cuts()
        cuts = proxy.stats.cuts
        await asyncio.sleep(0.7)  # longer than the longest interval (0.6 s)
        assert proxy.stats.cuts == cuts
        proxy.resume_cuts()
        await eventually(lambda: proxy.stats.cuts > cuts)


async def test_auto_cuts_disabled() -> None:
    async with link(echo, LinkProfile("cutty", cut_every_s=0.1), auto_cuts=False) as (_, proxy):
        await asyncio.sleep(0.3)
        await roundtrip(proxy.port)
        assert proxy.stats.cuts == 0


# -- failure handling -----------------------------------------------------------------------


async def test_server_reset_propagates_to_client() -> None:
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(1)
        writer.transport.abort()

    async with link(rude, LAN) as (_, proxy):
        async with connect(proxy.port) as (reader, writer):
            writer.write(b"x")
            with pytest.raises(RESET_ERRORS):
                async with asyncio.timeout(3):
                    await reader.readexactly(1)
        await eventually(lambda: proxy.active_connections == 0)


async def test_target_down_resets_client() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    async with LinkProxy("127.0.0.1", dead_port, LAN) as proxy:
        await expect_refused(proxy.port)
        await eventually(lambda: proxy.stats.connections == 1)
        assert proxy.stats.refused == 0  # refused means "blackout", not "target down"


async def test_stop_mid_transfer_is_clean() -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(os.urandom(4096))
            await writer.drain()

    async with Server(flood) as server:
        proxy = LinkProxy("127.0.0.1", server.port, LinkProfile("slow", down_bps=64_000))
        await proxy.start()
        async with connect(proxy.port) as (reader, _):
            await reader.readexactly(1000)
            await proxy.stop()
            with pytest.raises(RESET_ERRORS):
                async with asyncio.timeout(3):
                    await reader.read(-1)
        assert proxy.active_connections == 0
        with pytest.raises(RuntimeError):
            _ = proxy.port
        await eventually(lambda: server.outcomes == ["reset"])
    assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing leaked


# -- CLI ------------------------------------------------------------------------------------


def test_main_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-profiles"]) == 0
    assert "3g-bad" in capsys.readouterr().out
    assert main(["--target", "127.0.0.1:1", "--profile", "dialup"]) == 2
    assert "known" in capsys.readouterr().err
    assert main(["--target", "nonsense"]) == 2
    assert main([]) == 2


def test_main_runs_and_prints_stats() -> None:
    cmd = [sys.executable, "-m", "gateway.linkemu", "--listen", "127.0.0.1:0"]
    cmd += ["--target", "127.0.0.1:1", "--interval", "0.2", "--duration", "0.5"]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "3g-bad" in done.stdout
    assert "cuts 0" in done.stdout


async def test_parallel_connections_share_one_line() -> None:
    """A line is one bottleneck: two connections together get the rate once, not twice."""
    got = 0

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal got
        while data := await reader.read(65536):
            got += len(data)
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    profile = LinkProfile("shared", up_bps=256_000, down_bps=256_000)
    async with LinkProxy("127.0.0.1", port, profile, auto_cuts=False) as proxy:
        async def push() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"x" * 48 * 1024)
            await writer.drain()
            writer.write_eof()
            await reader.read()  # the sink closes once it has everything
            writer.close()
            await writer.wait_closed()

        started = time.monotonic()
        await asyncio.gather(push(), push())  # each returns once the sink has all its bytes
        elapsed = time.monotonic() - started
    server.close()
    await server.wait_closed()
    assert got == 2 * 48 * 1024
    assert elapsed >= 0.8 * (2 * 48 * 1024 * 8 / 256_000)  # ~3 s at one line's rate
