"""Malformed HTTP on a real TLS connection, and clients that hang up in the middle of a body.

aiohttp's parser refuses the malformed requests before any handler runs; the hang-ups reach
the handlers, which must keep nothing of an unfinished body (sync) or of an unfinished frame
(PATCH) and stay healthy.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from gateway.protocol.frames import FRAME_HEADER
from tests.security.hostile import (
    LEDGER,
    A,
    B,
    Hub,
    Peer,
    assert_same,
    doc,
    frames,
    sha,
    sync_request,
)
from tests.security.raw import raw_http, raw_refused

pytestmark = pytest.mark.asyncio(loop_scope="module")
SYNC = b"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"

MALFORMED = {
    "garbage-line": b"GARBAGE\r\n\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "bad-version": b"GET /healthz HTTP/1.x\r\nHost: a\r\n\r\n",
    "huge-header": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
    "huge-request-line": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "cl-and-te": SYNC + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-content-lengths": SYNC + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
    "negative-length": SYNC + b"Content-Length: -1\r\n\r\n",
    "exponent-length": SYNC + b"Content-Length: 1e3\r\n\r\n",
    "bad-chunk-size": SYNC + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "gzip-chunked": SYNC + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "nul-in-header": SYNC + b"X-Sync-Dict: 0\x00\r\nContent-Length: 0\r\n\r\n",
    "obs-fold": SYNC + b"X-Sync-Dict: 0\r\n 1\r\nContent-Length: 0\r\n\r\n",
    "space-before-colon": SYNC + b"Content-Length : 0\r\n\r\n",
    "expect-huge": SYNC + b"Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_malformed_http_is_refused(hub: Hub, a: Peer, name: str) -> None:
    await raw_refused(hub, "http.malformed", a.ctx, MALFORMED[name])


@pytest.mark.parametrize("name", ["garbage-line", "huge-header", "cl-and-te"])
async def test_malformed_http_without_a_certificate(hub: Hub, name: str) -> None:
    await raw_refused(hub, "http.malformed", hub.anonymous.ctx,
                      MALFORMED[name].replace(b"/v1/sync", b"/v1/enroll"))


async def _hang_up(hub: Hub, peer: Peer, data: bytes, kind: str) -> None:
    before = await hub.snapshot()
    started = hub.running.state.requests.get(kind, 0)
    assert await raw_http(hub, peer.ctx, data, hang_up_after_send=True) is None
    for _ in range(200):  # the handler has started (and then its upload slot exists) ...
        if hub.running.state.requests.get(kind, 0) > started:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    await hub.settle()  # ... and has finished
    await hub.healthy()
    assert_same(before, await hub.snapshot())
    LEDGER.record("http.hang-up", sha(data), "hang-up")


async def test_hang_up_in_the_middle_of_a_sync_body(hub: Hub, a: Peer) -> None:
    body = sync_request()
    await _hang_up(hub, a, SYNC + f"Content-Length: {len(body) + 100}\r\n\r\n".encode() + body,
                   "sync")


async def test_hang_up_in_the_middle_of_a_frame(hub: Hub, a: Peer) -> None:
    data = os.urandom(50_000)
    await a.sync(out=(doc(A, B, data),))
    body = frames(data, size=len(data))[:FRAME_HEADER.size + 20_000]  # inside frame 0
    head = (f"PATCH /v1/blobs/{sha(data)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Upload-Offset: 0\r\nUpload-Length: {len(data)}\r\n"
            f"Content-Length: {len(data) + 100}\r\n\r\n").encode()
    await _hang_up(hub, a, head + body, "patch")
    chunked = head.replace(f"Content-Length: {len(data) + 100}".encode(),
                           b"Transfer-Encoding: chunked")
    await _hang_up(hub, a, chunked + f"{len(body):x}\r\n".encode() + body, "patch")
