"""Going on with an interrupted frame (docs/protocol.md §4, "Resuming a frame"), honestly and
not: a real cut mid-frame leaves a piece the hub names in ``HEAD`` and in its sync reply, and
the rest of the frame completes the blob byte for byte. A resume that names another piece,
a piece under another dictionary, a length past it, a header that does not parse, or another
agency's blob stores nothing, and the piece never becomes part of anyone's blob unchecked.

Scene: A's document X is complete at the hub (a dictionary to name); each test queues a fresh
incompressible document of A's and cuts its upload in the middle of its second frame.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from gateway.protocol.crossdoc import DICT_REFUSED, UPLOAD_DICT
from gateway.protocol.frame_resume import (
    FRAME_HELD,
    FRAME_RESUME,
    UPLOAD_HELD,
    UPLOAD_RESUME_OFFER,
    HeldPiece,
)
from gateway.protocol.frames import FrameDecoder, FrameEncoder
from tests.security.hostile import (
    FRAMES_TYPE,
    SYNC_TYPE,
    A,
    B,
    Hub,
    Peer,
    Reply,
    doc,
    refused,
    sha,
    sync_request,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
FRAME = 32 * 1024
CUT_AT = 20 * 1024  # bytes of the second frame that cross before the cut


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def x(hub: Hub) -> bytes:
    a = hub.peers[A]
    data = os.urandom(50_000)
    assert len((await a.sync(out=(doc(A, B, data),))).accepted) == 1
    await upload(a, data)
    return data


def _frames(data: bytes, dictionary: bytes | None = None) -> list[bytes]:
    enc = FrameEncoder(dictionary=dictionary)
    return [enc.encode(data[i:i + FRAME]) for i in range(0, len(data), FRAME)]


def _headers(data: bytes, offset: int, **extra: str) -> dict[str, str]:
    return {"Upload-Offset": str(offset), "Upload-Length": str(len(data)),
            "Content-Type": FRAMES_TYPE, **extra}


async def _cut_upload(a: Peer, data: bytes, frames: list[bytes], **extra: str) -> None:
    """The first frame whole, then CUT_AT bytes of the second, then the connection breaks."""
    async def body() -> AsyncIterator[bytes]:
        yield frames[0]
        yield frames[1][:CUT_AT]
        await asyncio.sleep(0.3)  # they reach the hub before the connection breaks
        raise ConnectionResetError("the link went down")

    with pytest.raises((aiohttp.ClientError, ConnectionResetError)):
        async with a.session.request("PATCH", f"{a.base}/v1/blobs/{sha(data)}", data=body(),
                                     headers=_headers(data, 0, **extra)):
            pass
    await a.close()  # the next request opens a new connection, as after a real cut
    await asyncio.sleep(0.1)


async def _cut_pending(hub: Hub, a: Peer, **extra: str) -> tuple[bytes, list[bytes]]:
    data = os.urandom(3 * FRAME + 1000)
    assert len((await a.sync(out=(doc(A, B, data),))).accepted) == 1
    frames = _frames(data)
    await _cut_upload(a, data, frames, **extra)
    return data, frames


async def _resume(a: Peer, data: bytes, offset: int, value: str, body: bytes,
                  **extra: str) -> Reply:
    return await a.request("PATCH", f"/v1/blobs/{sha(data)}", body=body,
                           headers=_headers(data, offset, **{FRAME_RESUME: value}, **extra))


def _held(hub: Hub) -> int:
    return hub.running.state.held_frames.held_bytes


async def test_a_cut_frame_goes_on_from_the_piece_the_hub_holds(hub: Hub, a: Peer,
                                                                  b: Peer) -> None:
    data, frames = await _cut_pending(hub, a)
    head = await a.request("HEAD", f"/v1/blobs/{sha(data)}")
    assert head.headers["Upload-Offset"] == str(FRAME)
    piece = HeldPiece.parse(FRAME, head.headers[FRAME_HELD])
    assert piece.length == CUT_AT and piece.crc == zlib.crc32(frames[1][:CUT_AT])
    # The sync reply names it too, beside the offer.
    raw = await a.request("POST", "/v1/sync", body=sync_request(),
                          headers={"Content-Type": SYNC_TYPE, "X-Sync-Dict": "0"})
    assert raw.headers[UPLOAD_RESUME_OFFER] == "1"
    assert f"{sha(data)[:16]}:{FRAME}:{piece.header()}" in raw.headers[UPLOAD_HELD]
    reply = await _resume(a, data, FRAME, piece.header(),
                          frames[1][CUT_AT:] + b"".join(frames[2:]))
    assert reply.status == 204 and reply.headers.get("Upload-Complete") == "1", reply
    got = await b.request("GET", f"/v1/blobs/{sha(data)}")
    assert got.status == 200 and b"".join(FrameDecoder().feed(got.body)) == data
    assert _held(hub) == 0


def _bad_resumes(piece: HeldPiece) -> dict[str, HeldPiece]:
    return {
        "another crc": HeldPiece(piece.offset, piece.length, piece.crc ^ 1),
        "longer than held": HeldPiece(piece.offset, piece.length + 1, piece.crc),
        "shorter, crc of the whole": HeldPiece(piece.offset, piece.length - 1, piece.crc),
    }


@pytest.mark.parametrize("lie", ["another crc", "longer than held",
                                 "shorter, crc of the whole"])
async def test_a_resume_naming_another_piece_stores_nothing(hub: Hub, a: Peer,
                                                             lie: str) -> None:
    data, frames = await _cut_pending(hub, a)
    piece = HeldPiece(FRAME, CUT_AT, zlib.crc32(frames[1][:CUT_AT]))
    wrong = _bad_resumes(piece)[lie]
    reply = await refused(hub, "blob.resume-piece", lambda: _resume(
        a, data, FRAME, wrong.header(), frames[1][wrong.length:]), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "resume"
    assert _held(hub) == 0  # gone with the request: the next one sends the frame whole
    reply = await _resume(a, data, FRAME, piece.header(), frames[1][CUT_AT:])
    assert reply.status == 409 and reply.headers.get(DICT_REFUSED) == "resume"


async def test_a_piece_under_a_dictionary_is_no_piece_without_it(hub: Hub, a: Peer,
                                                                  x: bytes) -> None:
    named = f"{sha(x)}:{len(x)}"
    data = os.urandom(3 * FRAME + 1000)
    assert len((await a.sync(out=(doc(A, B, data),))).accepted) == 1
    frames = _frames(data, x)
    await _cut_upload(a, data, frames, **{UPLOAD_DICT: named})
    piece = HeldPiece(FRAME, CUT_AT, zlib.crc32(frames[1][:CUT_AT]))
    reply = await refused(hub, "blob.resume-context", lambda: _resume(
        a, data, FRAME, piece.header(), frames[1][CUT_AT:]), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "resume"


async def test_a_request_without_resume_drops_the_piece(hub: Hub, a: Peer) -> None:
    data, frames = await _cut_pending(hub, a)
    assert _held(hub) == CUT_AT
    reply = await a.request("PATCH", f"/v1/blobs/{sha(data)}", body=frames[1],
                            headers=_headers(data, FRAME))
    assert reply.status == 204 and reply.headers["Upload-Offset"] == str(2 * FRAME)
    assert _held(hub) == 0
    head = await a.request("HEAD", f"/v1/blobs/{sha(data)}")
    assert FRAME_HELD not in head.headers


@pytest.mark.parametrize("value", ["", "abc", "0:00000000", "20480", "20480:xyz",
                                   "20480:0000000g", "-1:00000000", "20480:00000000:1",
                                   "9" * 20 + ":00000000", "²:00000000", "20480:ABCDEF01"])
async def test_an_unreadable_resume_header_is_refused(hub: Hub, a: Peer, value: str) -> None:
    data, frames = await _cut_pending(hub, a)
    await refused(hub, "blob.resume-header", lambda: _resume(
        a, data, FRAME, value, frames[1][CUT_AT:]), allowed={400})
    assert _held(hub) == CUT_AT  # a request refused before it began leaves the piece alone
    await a.request("PATCH", f"/v1/blobs/{sha(data)}", body=frames[1],
                    headers=_headers(data, FRAME))  # drops it, for the next test


async def test_another_agency_neither_sees_nor_uses_a_piece(hub: Hub, a: Peer,
                                                            c: Peer) -> None:
    data, frames = await _cut_pending(hub, a)
    piece = HeldPiece(FRAME, CUT_AT, zlib.crc32(frames[1][:CUT_AT]))
    await refused(hub, "blob.resume-not-yours", lambda: c.request(
        "HEAD", f"/v1/blobs/{sha(data)}"), allowed={404})
    await refused(hub, "blob.resume-not-yours", lambda: _resume(
        c, data, FRAME, piece.header(), frames[1][CUT_AT:]), allowed={404})
    raw = await c.request("POST", "/v1/sync", body=sync_request(),
                          headers={"Content-Type": SYNC_TYPE, "X-Sync-Dict": "0"})
    assert sha(data)[:16] not in raw.headers.get(UPLOAD_HELD, "")
    assert _held(hub) == CUT_AT
    reply = await _resume(a, data, FRAME, piece.header(), frames[1][CUT_AT:])
    assert reply.status == 204 and reply.headers["Upload-Offset"] == str(2 * FRAME)


async def test_a_body_that_just_ends_mid_frame_leaves_no_piece(hub: Hub, a: Peer) -> None:
    data = os.urandom(3 * FRAME + 1000)
    assert len((await a.sync(out=(doc(A, B, data),))).accepted) == 1
    frames = _frames(data)
    reply = await a.request("PATCH", f"/v1/blobs/{sha(data)}",
                            body=frames[0] + frames[1][:CUT_AT], headers=_headers(data, 0))
    assert reply.status == 204 and reply.headers["Upload-Offset"] == str(FRAME)
    assert _held(hub) == 0
