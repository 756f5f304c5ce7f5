"""Chained uploads on a real hub over mutual TLS (docs/protocol.md §4, "Chained upload"): several
blobs in one PATCH, each checked, verified and routed as a request's only blob would be, and
every way the hub stops reading answered for the blob it was at, with ``Upload-Blob``.

Each test queues fresh documents of A (to B), so the blobs it chains are its own.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.model import Envelope
from gateway.protocol.crossdoc import (
    DICT_REFUSED,
    UPLOAD_BLOB,
    UPLOAD_CHAIN,
    UPLOAD_DICT_MAX,
    Reference,
)
from gateway.protocol.frames import FRAME_HEADER, ChainTo, FrameDecoder, FrameEncoder
from gateway.protocol.seen import NEWS_HEADER
from tests.security.hostile import (
    B,
    Hub,
    Peer,
    Reply,
    check_refusal,
    doc,
    frames,
    sha,
    sync_request,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
SIZE = 40_000


async def queued(peer: Peer, *blobs: bytes) -> Envelope:
    """A document of ``peer`` to B carrying ``blobs``, accepted by the hub, none uploaded."""
    env = doc(peer.agency or "", B, *blobs)
    reply = await peer.sync(out=(env,))
    assert reply.accepted == (env.id,), reply
    return env


def blobs(n: int) -> list[bytes]:
    return [os.urandom(SIZE) for _ in range(n)]


def to(data: bytes, offset: int = 0, *, size: int | None = None,
       reference: Reference | None = None) -> bytes:
    """A chain frame naming ``data`` from ``offset``."""
    return ChainTo(sha(data), offset, len(data) if size is None else size,
                   () if reference is None else (reference,)).frame()


def chain(*parts: bytes) -> bytes:
    """The body of a chain of whole blobs, the first one the path's."""
    return frames(parts[0]) + b"".join(to(p) + frames(p) for p in parts[1:])


def held(hub: Hub, data: bytes) -> int:
    return hub.store.blobs.partial_size(sha(data))


def complete(hub: Hub, data: bytes) -> bool:
    return hub.store.blobs.has(sha(data)) and held(hub, data) == 0


def answer(reply: Reply, status: int, offset: int | None, about: bytes | None) -> None:
    """``reply`` is ``status`` with ``offset`` held, about ``about`` (None: the path's blob),
    and carries the caller's news mark as every reply of the session does."""
    assert reply.status == status, (reply.status, reply.body[:300])
    if status >= 400:
        check_refusal(reply)  # a short plain reason, no trace
    assert reply.headers.get("Upload-Offset") == (None if offset is None else str(offset))
    assert reply.headers.get(UPLOAD_BLOB) == (None if about is None else sha(about))
    assert reply.headers.get(NEWS_HEADER, "").isdigit()


async def delivered(b: Peer) -> list[str]:
    """Ids of the documents B receives (acking them), one entry per delivery."""
    ids: list[str] = []
    while True:
        reply = await b.sync()
        if not reply.inbox:
            return ids
        ids += [item.env.id for item in reply.inbox]
        await b.sync(acks=tuple(item.seq for item in reply.inbox))


async def downloaded(b: Peer, data: bytes) -> bytes:
    got = await b.request("GET", f"/v1/blobs/{sha(data)}")
    assert got.status == 200, got
    return b"".join(FrameDecoder().feed(got.body))


async def test_a_sync_reply_with_needs_says_the_hub_takes_chains(a: Peer, b: Peer) -> None:
    await delivered(b)
    idle = await b.sync_raw(sync_request())
    assert idle.status == 200 and UPLOAD_CHAIN not in idle.headers
    data = blobs(1)[0]
    await queued(a, data)
    busy = await a.sync_raw(sync_request())
    assert busy.headers.get(UPLOAD_CHAIN) == "1" and UPLOAD_DICT_MAX in busy.headers
    await upload(a, data)


async def test_three_blobs_in_one_patch_are_complete_and_routed_once(
        hub: Hub, a: Peer, b: Peer) -> None:
    x, y, z = blobs(3)
    first, second = await queued(a, x, y), await queued(a, z)
    await delivered(b)
    requests = dict(hub.running.state.requests)
    connections = a.connections
    reply = await a.patch(sha(x), 0, SIZE, chain(x, y, z))
    answer(reply, 204, SIZE, z)
    assert reply.headers.get("Upload-Complete") == "1"
    assert all(complete(hub, d) for d in (x, y, z))
    counts = hub.running.state.requests
    assert counts["chain"] == requests.get("chain", 0) + 2
    assert counts["patch"] == requests["patch"] + 1
    assert a.connections == connections  # one request on the connection it had
    assert sorted(await delivered(b)) == sorted([first.id, second.id])  # each exactly once
    for data in (x, y, z):
        assert await downloaded(b, data) == data


async def test_a_chained_blob_may_use_the_blob_before_as_its_dictionary(
        hub: Hub, a: Peer, b: Peer) -> None:
    x = os.urandom(SIZE)
    y = x[:-3000] + os.urandom(3000)  # the next letter of the same office
    await queued(a, x, y)
    dicts = hub.running.state.requests.get("patch_dict", 0)
    ref = Reference(sha(x), SIZE)
    enc = FrameEncoder(dictionary=x)
    body = frames(x) + to(y, reference=ref) + b"".join(
        enc.encode(y[i:i + 16_384]) for i in range(0, SIZE, 16_384))
    assert len(body) < 2 * SIZE - SIZE // 2
    answer(await a.patch(sha(x), 0, SIZE, body), 204, SIZE, y)
    assert complete(hub, y) and await downloaded(b, y) == y
    assert hub.running.state.requests["patch_dict"] == dicts + 1


async def test_a_chain_frame_before_the_blob_is_whole_is_refused(hub: Hub, a: Peer) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    half = frames(x)[:len(frames(x[:16_384]))]  # the first frame only
    reply = await a.patch(sha(x), 0, SIZE, half + to(y) + frames(y))
    answer(reply, 400, 16_384, None)
    assert b"chain frame before the blob was whole" in reply.body
    assert held(hub, x) == 16_384 and held(hub, y) == 0 and not complete(hub, y)
    answer(await a.patch(sha(x), 16_384, SIZE, chain(x[16_384:], y)), 204, SIZE, y)
    assert complete(hub, x) and complete(hub, y)


@pytest.mark.parametrize("whose", ["another-commune", "nobody"])
async def test_a_blob_not_the_callers_is_refused_and_nothing_of_it_written(
        hub: Hub, a: Peer, c: Peer, whose: str) -> None:
    x, theirs = blobs(2)
    await queued(a, x)
    if whose == "another-commune":
        await queued(c, theirs)
    reply = await a.patch(sha(x), 0, SIZE, chain(x, theirs))
    answer(reply, 404, None, theirs)
    assert complete(hub, x)  # the blob before the chain frame is done
    assert held(hub, theirs) == 0 and not hub.store.blobs.has(sha(theirs))
    assert not hub.store.blobs.partial_path(sha(theirs)).exists()


async def test_a_wrong_size_is_refused(hub: Hub, a: Peer) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    reply = await a.patch(sha(x), 0, SIZE, frames(x) + to(y, size=SIZE + 1) + frames(y))
    answer(reply, 400, None, y)
    assert b"Upload-Length differs" in reply.body
    assert complete(hub, x) and held(hub, y) == 0


async def test_an_offset_the_hub_does_not_hold_is_refused(hub: Hub, a: Peer) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    assert (await a.patch(sha(y), 0, SIZE, frames(y[:20_000]))).status == 204
    reply = await a.patch(sha(x), 0, SIZE, frames(x) + to(y, 0) + frames(y))
    answer(reply, 409, 20_000, y)
    assert complete(hub, x) and held(hub, y) == 20_000
    answer(await a.patch(sha(y), 20_000, SIZE, frames(y[20_000:])), 204, SIZE, None)
    assert complete(hub, y)


async def test_a_complete_blob_is_answered_complete(hub: Hub, a: Peer, b: Peer) -> None:
    x, y, z = blobs(3)
    await queued(a, x, y, z)
    await upload(a, y)
    reply = await a.patch(sha(x), 0, SIZE, chain(x, y, z))
    answer(reply, 204, SIZE, y)
    assert reply.headers.get("Upload-Complete") == "1"
    assert complete(hub, x) and held(hub, z) == 0 and not complete(hub, z)
    answer(await a.patch(sha(z), 0, SIZE, frames(z)), 204, SIZE, None)
    assert await downloaded(b, z) == z


async def test_a_blob_before_with_the_wrong_bytes_is_discarded_and_the_next_not_started(
        hub: Hub, a: Peer) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    reply = await a.patch(sha(x), 0, SIZE, chain(os.urandom(SIZE), y))
    answer(reply, 422, 0, None)
    assert b"sha256 mismatch" in reply.body
    assert held(hub, x) == 0 and not hub.store.blobs.has(sha(x))
    assert held(hub, y) == 0 and not hub.store.blobs.has(sha(y))


async def test_a_dictionary_the_caller_may_not_use_is_refused(hub: Hub, a: Peer,
                                                              c: Peer) -> None:
    x, y, theirs = blobs(3)
    await queued(a, x, y)
    await queued(c, theirs)
    await upload(c, theirs)
    ref = Reference(sha(theirs), SIZE)
    reply = await a.patch(sha(x), 0, SIZE, frames(x) + to(y, reference=ref) + frames(y))
    answer(reply, 409, None, y)
    assert reply.headers.get(DICT_REFUSED) == "unknown"
    assert complete(hub, x) and held(hub, y) == 0


@pytest.mark.parametrize("damage", ["crc", "offset-past-size"])
async def test_a_bad_chain_frame_ends_the_request_at_the_blob_before(
        hub: Hub, a: Peer, damage: str) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    frame = bytearray(to(y))
    if damage == "crc":
        frame[9] ^= 1
    else:  # a CRC-correct body that says the blob starts past its end
        frame[:] = ChainTo(sha(y), 0, SIZE).frame()
        frame[FRAME_HEADER.size + 32:FRAME_HEADER.size + 40] = (SIZE + 1).to_bytes(8, "big")
        frame[9:13] = zlib.crc32(bytes(frame[FRAME_HEADER.size:])).to_bytes(4, "big")
    reply = await a.patch(sha(x), 0, SIZE, frames(x) + bytes(frame) + frames(y))
    answer(reply, 400, SIZE, None)  # every byte of x held, not verified: no chain frame taken
    assert held(hub, x) == SIZE and held(hub, y) == 0
    answer(await a.patch(sha(x), SIZE, SIZE, b""), 204, SIZE, None)  # the resume finishes it
    assert complete(hub, x)


async def test_a_chain_that_names_a_blob_again_corrupts_nothing(hub: Hub, a: Peer,
                                                                b: Peer) -> None:
    x, y = blobs(2)
    env = await queued(a, x, y)
    await delivered(b)
    loop = frames(x) + to(y) + frames(y) + to(x) + frames(x) + to(y) + frames(y)
    reply = await a.patch(sha(x), 0, SIZE, loop)
    answer(reply, 204, SIZE, None)  # the hub stopped at x, the path's blob, complete
    assert reply.headers.get("Upload-Complete") == "1"
    answer(await a.patch(sha(x), 0, SIZE, frames(x) + to(x) + frames(x)), 204, SIZE, None)
    assert await delivered(b) == [env.id]
    assert [await downloaded(b, d) for d in (x, y)] == [x, y]


async def test_a_client_cut_mid_chain_keeps_what_was_whole_and_resumes(
        hub: Hub, a: Peer, b: Peer) -> None:
    x, y = blobs(2)
    env = await queued(a, x, y)
    await delivered(b)
    y_frames = frames(y)
    two = len(frames(y[:32_768]))  # two whole frames of y, then half of the third
    body = frames(x) + to(y) + y_frames[:two + 1000]
    writer = await _send(hub, a, x, body)
    # Hang up once the hub has read what was sent (aiohttp drops what it had not read yet).
    await _until(lambda: held(hub, y) == 32_768)
    writer.transport.abort()
    await _until(lambda: not hub.running.state.uploads)
    assert complete(hub, x) and held(hub, y) == 32_768
    got = await a.request("HEAD", f"/v1/blobs/{sha(y)}")
    assert got.headers["Upload-Offset"] == "32768" and "Upload-Complete" not in got.headers
    answer(await a.patch(sha(y), 32_768, SIZE, frames(y[32_768:])), 204, SIZE, None)
    assert await delivered(b) == [env.id] and await downloaded(b, y) == y


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the hub's files have no event to wait on
            await asyncio.sleep(0.01)


async def _send(hub: Hub, peer: Peer, path_blob: bytes, body: bytes,
                offset: int = 0) -> asyncio.StreamWriter:
    """A PATCH that sends ``body`` and then nothing (its length promises more), on a
    connection of its own: the half-dead request a cut leaves at the hub."""
    head = (f"PATCH /v1/blobs/{sha(path_blob)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Upload-Offset: {offset}\r\nUpload-Length: {SIZE}\r\n"
            f"Content-Length: {len(body) + 5000}\r\n\r\n").encode()
    _, writer = await asyncio.open_connection(
        "127.0.0.1", hub.running.port, ssl=peer.ctx, server_hostname="127.0.0.1")
    writer.write(head + body)
    await writer.drain()
    return writer


async def test_a_chained_blob_evicts_the_request_a_cut_left_on_it(hub: Hub, a: Peer) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    stale = await _send(hub, a, y, frames(y[:16_384]))
    try:
        await _until(lambda: held(hub, y) == 16_384)
        assert sha(y) in hub.running.state.uploads  # the stale request holds y
        reply = await a.patch(sha(x), 0, SIZE,
                              frames(x) + to(y, 16_384) + frames(y[16_384:]))
        answer(reply, 204, SIZE, y)
        assert complete(hub, x) and complete(hub, y)
    finally:
        stale.transport.abort()


async def test_more_bytes_than_a_chained_blobs_size_are_refused(hub: Hub, a: Peer) -> None:
    x, y = blobs(2)
    await queued(a, x, y)
    reply = await a.patch(sha(x), 0, SIZE, chain(x, y) + frames(b"one byte too many"))
    answer(reply, 400, SIZE, y)
    assert b"more bytes than Upload-Length" in reply.body
    assert complete(hub, x) and held(hub, y) == SIZE  # kept: a resume at SIZE verifies it
    answer(await a.patch(sha(y), SIZE, SIZE, b""), 204, SIZE, None)
    assert complete(hub, y)


async def test_the_hub_answers_as_soon_as_it_stops_reading(hub: Hub, a: Peer) -> None:
    """The gateway stops sending when the reply comes: the hub must not wait for the body's
    end (here: never) to say it stopped at a blob."""
    x, y = blobs(2)
    await queued(a, x)
    sent = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield chain(x, y)  # y is nobody's: 404 for it
        sent.set()
        await asyncio.sleep(60)
        yield b""

    started = asyncio.get_running_loop().time()
    reply = await a.request("PATCH", f"/v1/blobs/{sha(x)}", stream=body, headers={
        "Upload-Offset": "0", "Upload-Length": str(SIZE)})
    assert sent.is_set() and asyncio.get_running_loop().time() - started < 10
    answer(reply, 404, None, y)
    assert complete(hub, x)
