"""Hostile recoded frames on PATCH (docs/protocol.md §7, kinds 4 and 5): another version's
token, recoded frames a request did not announce, recipes that would make the hub deflate
megabytes for a few bytes, recipes that rebuild other bytes, and an expanded dictionary of a
blob the caller may not read. None may store a byte; the honest upload must shrink.

Scene: A's document X (an office PDF) is complete at the hub, so is C's Z; each test queues a
fresh document of A's office.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import pytest
import pytest_asyncio
import zstandard

from gateway.protocol import pdf_streams, recipe
from gateway.protocol.crossdoc import DICT_REFUSED, RECODE, UPLOAD_DICT, UPLOAD_RECODE
from gateway.protocol.frames import FRAME_HEADER, KIND_RECODED, FrameDecoder, FrameEncoder
from gateway.protocol.limits import MAX_XDOC_DICT
from tests.pdf_like import office_pdf
from tests.security.hostile import (
    FRAMES_TYPE,
    A,
    B,
    C,
    Hub,
    Peer,
    Reply,
    doc,
    refused,
    sha,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass(frozen=True)
class Scene:
    x: bytes  # A's, complete
    z: bytes  # C's, complete


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(hub: Hub) -> Scene:
    a, c = hub.peers[A], hub.peers[C]
    x, z = office_pdf(101), office_pdf(102)
    assert len((await a.sync(out=(doc(A, B, x),))).accepted) == 1
    assert len((await c.sync(out=(doc(C, B, z),))).accepted) == 1
    await upload(a, x)
    await upload(c, z)
    return Scene(x, z)


_seeds = iter(range(200, 10_000))


async def _pending(a: Peer) -> bytes:
    data = office_pdf(next(_seeds))
    assert len((await a.sync(out=(doc(A, B, data),))).accepted) == 1
    return data


def _recoded(data: bytes, dictionary: bytes | None) -> bytes:
    segments, enc, out, at = pdf_streams.segments(data), FrameEncoder(dictionary=dictionary), \
        bytearray(), 0
    while at < len(data):
        end = recipe.frame_end(segments, at, min(64 * 1024, len(data) - at), len(data))
        out += enc.encode(data[at:end], recipe.build(data[at:end], at, segments))
        at = end
    return bytes(out)


def _expanded(blob: bytes) -> bytes:
    return pdf_streams.expanded(blob[:MAX_XDOC_DICT], MAX_XDOC_DICT)


async def _patch(a: Peer, data: bytes, body: bytes, reference: bytes | None = None, *,
                 token: str | None = RECODE) -> Reply:
    headers = {"Upload-Offset": "0", "Upload-Length": str(len(data)),
               "Content-Type": FRAMES_TYPE}
    if reference is not None:
        headers[UPLOAD_DICT] = f"{sha(reference)}:{len(_expanded(reference))}"
    if token is not None:
        headers[UPLOAD_RECODE] = token
    return await a.request("PATCH", f"/v1/blobs/{sha(data)}", body=body, headers=headers)


async def test_an_honest_recoded_upload_sends_a_fraction_and_stores_the_exact_blob(
        hub: Hub, a: Peer, b: Peer, scene: Scene) -> None:
    data = await _pending(a)
    body = _recoded(data, _expanded(scene.x))
    assert len(body) < 0.4 * len(data)
    reply = await _patch(a, data, body, scene.x)
    assert reply.status == 204 and reply.headers.get("Upload-Complete") == "1", reply
    got = await b.request("GET", f"/v1/blobs/{sha(data)}")
    assert got.status == 200 and b"".join(FrameDecoder().feed(got.body)) == data


@pytest.mark.parametrize("token", ["0/zlib-1.2.13", "1/zlib-9.9.9", "", "x" * 300])
async def test_another_versions_token_is_refused_before_any_frame(
        hub: Hub, a: Peer, scene: Scene, token: str) -> None:
    data = await _pending(a)
    reply = await refused(hub, "blob.recode-token", lambda: _patch(
        a, data, _recoded(data, None), token=token), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "recode"


async def test_recoded_frames_the_request_did_not_announce_are_refused(
        hub: Hub, a: Peer, scene: Scene) -> None:
    data = await _pending(a)
    body = _recoded(data, _expanded(scene.x))
    headers = {"Upload-Offset": "0", "Upload-Length": str(len(data)),
               "Content-Type": FRAMES_TYPE, UPLOAD_DICT: f"{sha(scene.x)}:{len(scene.x)}"}
    reply = await refused(hub, "blob.recode-unannounced", lambda: a.request(
        "PATCH", f"/v1/blobs/{sha(data)}", body=body, headers=headers), allowed={400})
    assert b"unknown kind" in reply.body


def _frame(raw_len: int, crc: int, content: bytes) -> bytes:
    payload = zstandard.ZstdCompressor(write_content_size=True).compress(content)
    return FRAME_HEADER.pack(KIND_RECODED, len(payload), raw_len, crc) + payload


def _deflate_record(content: bytes, level: int = 6) -> bytes:
    return struct.pack(">BBII", 1, level, len(zlib.compress(content, level)), len(content)) \
        + content


async def test_a_small_frame_cannot_make_the_hub_deflate_megabytes(
        hub: Hub, a: Peer, scene: Scene) -> None:
    data = await _pending(a)
    zeros = bytes(4 * 2**20)
    raw = zlib.compress(zeros)  # 4 KiB of the blob "stand for" 4 MiB to deflate
    body = _frame(len(raw), zlib.crc32(raw), _deflate_record(zeros))
    reply = await refused(hub, "blob.recode-bomb", lambda: _patch(a, data, body),
                          allowed={400})
    assert b"recipe size not plausible" in reply.body


@pytest.mark.parametrize("lie", ["level", "declared", "crc"])
async def test_a_recipe_that_rebuilds_other_bytes_stores_nothing(
        hub: Hub, a: Peer, scene: Scene, lie: str) -> None:
    data = await _pending(a)
    text = b"BT /F1 12 Tf (Quyet dinh so 12) Tj ET " * 300
    meant = zlib.compress(text, 6)
    record = {"level": _deflate_record(text, 1), "declared": struct.pack(
        ">BBII", 1, 6, len(meant) + 1, len(text)) + text, "crc": _deflate_record(text)}[lie]
    crc = zlib.crc32(meant) ^ (1 if lie == "crc" else 0)
    reply = await refused(hub, "blob.recode-other-bytes", lambda: _patch(
        a, data, _frame(len(meant), crc, record)), allowed={400})
    assert b"CRC mismatch" in reply.body or b"declared length" in reply.body \
        or b"longer than its frame" in reply.body or b"shorter" in reply.body


async def test_an_expanded_dictionary_of_a_blob_the_caller_may_not_read_is_refused(
        hub: Hub, a: Peer, scene: Scene) -> None:
    data = await _pending(a)
    reply = await refused(hub, "blob.recode-dict-reference", lambda: _patch(
        a, data, _recoded(data, _expanded(scene.z)), scene.z), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "unknown"


async def test_a_dictionary_length_past_the_expanded_form_is_refused(
        hub: Hub, a: Peer, scene: Scene) -> None:
    data = await _pending(a)
    headers = {"Upload-Offset": "0", "Upload-Length": str(len(data)),
               "Content-Type": FRAMES_TYPE, UPLOAD_RECODE: RECODE,
               UPLOAD_DICT: f"{sha(scene.x)}:{len(_expanded(scene.x)) + 1}"}
    reply = await refused(hub, "blob.recode-dict-length", lambda: a.request(
        "PATCH", f"/v1/blobs/{sha(data)}", body=_recoded(data, None), headers=headers),
        allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "length"
