"""Item 11: slow and idle clients, and connections per source address.

Before the fix the hub had no header timeout, kept an idle connection for an hour, and any
number of certificate-less TLS connections (about 300 KB each) could be held open from one
address. This module's hub runs with short limits so each case takes about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gateway.hub.listener import ConnLimits
from gateway.hub.runtime import init_hub, serve_hub
from gateway.model import Directory
from gateway.security.tls import client_context
from tests.security.hostile import LEDGER, A, Hub, Peer, sync_request

pytestmark = pytest.mark.asyncio(loop_scope="module")
LIMITS = ConnLimits(handshake_s=1.0, idle_s=1.0, body_idle_s=1.0, linger_s=0.5,
                    per_source=6, anonymous_per_source=3)
PATIENCE_S = 5.0  # far more than any limit above, far less than the old hour


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """Overrides the suite's hub: the same real hub, with short connection limits."""
    root = tmp_path_factory.mktemp("slow")
    init_hub(root / "hub", "H35", Directory.sample(), ["127.0.0.1", "localhost"])
    running = Hub(root / "hub", await serve_hub(root / "hub", limits=LIMITS))
    try:
        await running.enroll(A, root / "gw-a")
        yield running
    finally:
        await running.close()


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def tls(hub: Hub, ctx: ssl.SSLContext, source: str = "127.0.0.1") -> Stream:
    return await asyncio.open_connection("127.0.0.1", hub.running.port, ssl=ctx,
                                         server_hostname="127.0.0.1", local_addr=(source, 0))


async def tcp(hub: Hub, source: str) -> Stream:
    return await asyncio.open_connection("127.0.0.1", hub.running.port,
                                         local_addr=(source, 0))


async def closed_by_hub(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    """Seconds until the hub closed the connection, and what it said before."""
    start = time.monotonic()
    data = b""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        async with asyncio.timeout(PATIENCE_S):
            while chunk := await reader.read(4096):
                data += chunk
    return time.monotonic() - start, data


async def shut(*streams: Stream) -> None:
    for _, writer in streams:
        writer.close()
    for _, writer in streams:
        with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
            await writer.wait_closed()


def ctx_of(hub: Hub) -> ssl.SSLContext:
    return client_context(hub.layout.ca_cert)


async def test_item11_a_connection_that_never_sends_a_request_is_closed(hub: Hub) -> None:
    conn = await tls(hub, ctx_of(hub))
    waited, said = await closed_by_hub(conn[0])
    await shut(conn)
    assert waited < PATIENCE_S and said == b""
    LEDGER.record("slow.headers", "silent-after-handshake", "closed")


async def test_item11_trickled_headers_are_cut_off(hub: Hub) -> None:
    conn = await tls(hub, ctx_of(hub))
    head = b"POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    start = time.monotonic()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        for byte in head:
            conn[1].write(bytes([byte]))
            await conn[1].drain()
            await asyncio.sleep(0.05)
        while time.monotonic() - start < PATIENCE_S and not conn[0].at_eof():
            conn[1].write(b"a")
            await conn[1].drain()
            await asyncio.sleep(0.1)
    await closed_by_hub(conn[0])
    await shut(conn)
    assert time.monotonic() - start < PATIENCE_S
    LEDGER.record("slow.headers", "trickled-headers", "closed")


async def test_item11_an_idle_keep_alive_connection_is_closed(hub: Hub) -> None:
    conn = await tls(hub, ctx_of(hub))
    conn[1].write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await conn[1].drain()
    waited, said = await closed_by_hub(conn[0])
    await shut(conn)
    assert said.startswith(b"HTTP/1.1 200") and waited < PATIENCE_S
    LEDGER.record("slow.headers", "idle-keep-alive", "closed")


async def test_item11_a_stalled_body_is_given_up_with_408(hub: Hub) -> None:
    peer = hub.peers[A]
    conn = await tls(hub, peer.ctx)
    body = sync_request()
    conn[1].write(b"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/x-gateway-sync\r\nX-Sync-Dict: 0\r\n"
                  + f"Content-Length: {len(body) + 100}\r\n\r\n".encode() + body)
    await conn[1].drain()
    waited, said = await closed_by_hub(conn[0])
    await shut(conn)
    assert said.startswith(b"HTTP/1.1 408") and waited < PATIENCE_S, said[:200]
    assert b"Traceback" not in said
    LEDGER.record("slow.body", "stalled-sync-body", "4xx")


async def test_item11_a_silent_tcp_connection_loses_its_handshake(hub: Hub) -> None:
    conn = await tcp(hub, "127.0.0.4")
    waited, _ = await closed_by_hub(conn[0])
    await shut(conn)
    assert waited < PATIENCE_S
    LEDGER.record("slow.headers", "no-client-hello", "closed")


async def test_item11_connections_per_source_are_capped(hub: Hub) -> None:
    held = [await tcp(hub, "127.0.0.2") for _ in range(LIMITS.per_source)]
    extra = await tcp(hub, "127.0.0.2")
    waited, _ = await closed_by_hub(extra[0])
    other = await tls(hub, hub.peers[A].ctx, "127.0.0.3")  # another address is not affected
    try:
        assert waited < LIMITS.handshake_s / 2  # closed at once, not by the handshake deadline
        assert all(not r.at_eof() for r, _ in held)
        other[1].write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert (await other[0].readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
    finally:
        await shut(*held, extra, other)
    LEDGER.record("slow.connections", "per-source", "closed")


async def test_item11_anonymous_connections_are_capped_certificates_are_not(hub: Hub) -> None:
    source = "127.0.0.5"
    anonymous = [await tls(hub, ctx_of(hub), source) for _ in range(LIMITS.anonymous_per_source)]
    extra = await tls(hub, ctx_of(hub), source)
    waited, _ = await closed_by_hub(extra[0])
    gateway = Peer(hub.url, hub.peers[A].ctx, A)
    try:
        assert waited < LIMITS.idle_s / 2
        conn = await tls(hub, hub.peers[A].ctx, source)
        body = sync_request()
        conn[1].write(b"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sync-Dict: 0\r\n"
                      b"Content-Type: application/x-gateway-sync\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        assert (await conn[0].readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
        await shut(conn)
    finally:
        await shut(*anonymous, extra)
        await gateway.close()
    LEDGER.record("slow.connections", "anonymous-per-source", "closed")


async def test_item11_counts_return_to_zero_when_connections_close(hub: Hub) -> None:
    gate = hub.running.listener.gate
    await hub.peers[A].close()
    await hub.anonymous.close()
    async with asyncio.timeout(PATIENCE_S):
        while gate.open_connections():  # noqa: ASYNC110 - the hub's own close, no event
            await asyncio.sleep(0.05)
    assert gate.anonymous == {} and gate.refused >= 2


async def test_limits_default_to_values_a_thin_link_can_meet() -> None:
    limits = ConnLimits()
    assert limits.handshake_s >= 10 and limits.idle_s >= 15 and limits.body_idle_s >= 30
    assert limits.per_source >= 64  # many communes may share a carrier NAT address
