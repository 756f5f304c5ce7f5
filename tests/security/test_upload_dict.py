"""Hostile dictionary references on PATCH (docs/protocol.md §4, §7): a dictionary the caller
may not read, one the hub does not hold complete, lying lengths and spellings, and frames made
against other content. None may store a byte; the honest reference must shrink the upload.

Scene: A has sent B a document whose blob X is complete at the hub; C has sent B one whose
blob Z is complete; A's blob W is half uploaded. Each test queues a fresh blob of A that
repeats most of X, so a refusal can only be caused by the reference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import pytest_asyncio

from gateway.protocol.crossdoc import DICT_REFUSED, UPLOAD_DICT
from gateway.protocol.frames import FrameDecoder, FrameEncoder
from gateway.protocol.limits import MAX_XDOC_DICT, MIN_XDOC_REF
from tests.security.hostile import (
    FRAMES_TYPE,
    A,
    B,
    C,
    Hub,
    Peer,
    Reply,
    doc,
    frames,
    refused,
    sha,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
X_SIZE = 60_000


@dataclass(frozen=True)
class Scene:
    x: bytes  # A's, complete
    z: bytes  # C's, complete
    w: bytes  # A's, 20 000 bytes of it held


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(hub: Hub) -> Scene:
    a, c = hub.peers[A], hub.peers[C]
    x, z, w = os.urandom(X_SIZE), os.urandom(X_SIZE), os.urandom(X_SIZE)
    assert len((await a.sync(out=(doc(A, B, x), doc(A, B, w)))).accepted) == 2
    assert len((await c.sync(out=(doc(C, B, z),))).accepted) == 1
    await upload(a, x)
    await upload(c, z)
    half = await a.patch(sha(w), 0, X_SIZE, frames(w[:20_000]))
    assert half.status == 204 and half.headers["Upload-Offset"] == "20000"
    return Scene(x, z, w)


async def _pending(a: Peer, like: bytes) -> bytes:
    """A new blob of A, accepted and not uploaded, that repeats ``like`` but for its end."""
    data = like[:-2000] + os.urandom(2000)
    assert len((await a.sync(out=(doc(A, B, data),))).accepted) == 1
    return data


def _framed(data: bytes, dictionary: bytes) -> bytes:
    enc = FrameEncoder(dictionary=dictionary)
    return b"".join(enc.encode(data[i:i + 16_384]) for i in range(0, len(data), 16_384))


async def _patch(a: Peer, data: bytes, body: bytes, reference: str | None) -> Reply:
    headers = {"Upload-Offset": "0", "Upload-Length": str(len(data)),
               "Content-Type": FRAMES_TYPE}
    if reference is not None:
        headers[UPLOAD_DICT] = reference
    return await a.request("PATCH", f"/v1/blobs/{sha(data)}", body=body, headers=headers)


async def test_an_honest_reference_sends_a_fraction_and_stores_the_verified_blob(
        hub: Hub, a: Peer, b: Peer, scene: Scene) -> None:
    data = await _pending(a, scene.x)
    body = _framed(data, scene.x)
    assert len(body) < len(data) // 10
    reply = await _patch(a, data, body, f"{sha(scene.x)}:{X_SIZE}")
    assert reply.status == 204 and reply.headers.get("Upload-Complete") == "1", reply
    got = await b.request("GET", f"/v1/blobs/{sha(data)}")
    assert got.status == 200 and b"".join(FrameDecoder().feed(got.body)) == data


@pytest.mark.parametrize("whose", ["other-agency", "missing", "incomplete", "itself"])
async def test_a_reference_the_caller_may_not_use_is_refused(hub: Hub, a: Peer, scene: Scene,
                                                             whose: str) -> None:
    data = await _pending(a, scene.x)
    target = {"other-agency": scene.z, "missing": os.urandom(X_SIZE), "incomplete": scene.w,
              "itself": data}[whose]
    reply = await refused(hub, "blob.dict-reference", lambda: _patch(
        a, data, _framed(data, target), f"{sha(target)}:{X_SIZE}"), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "unknown"
    assert b"dictionary refused" in reply.body


LENGTHS = {"longer-than-blob": (str(X_SIZE + 1), "length"),
           "over-the-limit": (str(MAX_XDOC_DICT + 1), "malformed"),
           "huge": ("9" * 8, "malformed"), "nine-digits": ("1" * 9, "malformed"),
           "below-minimum": (str(MIN_XDOC_REF - 1), "malformed"), "zero": ("0", "malformed"),
           "negative": ("-1", "malformed"), "leading-zero": ("04096", "malformed")}


@pytest.mark.parametrize("name", sorted(LENGTHS))
async def test_a_lying_length_is_refused(hub: Hub, a: Peer, scene: Scene, name: str) -> None:
    data = await _pending(a, scene.x)
    length, token = LENGTHS[name]
    reply = await refused(hub, "blob.dict-length", lambda: _patch(
        a, data, _framed(data, scene.x), f"{sha(scene.x)}:{length}"), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == token


@pytest.mark.parametrize("value", ["", "x", ":60000", "A" * 64 + ":60000", "0" * 80 + ":1",
                                   "{d}", "{d}:", "{d}:60000:1", "{d} :60000", "{d}:6e4",
                                   "{d}:60000,{d}:60000", "{d}:60000,", ",{d}:60000",
                                   "{d}:60000;{d}:4096", ",".join(["{d}:4096"] * 9)])
async def test_a_malformed_reference_is_refused(hub: Hub, a: Peer, scene: Scene,
                                                value: str) -> None:
    data = await _pending(a, scene.x)
    header = value.replace("{d}", sha(scene.x))
    reply = await refused(hub, "blob.dict-header", lambda: _patch(
        a, data, _framed(data, scene.x), header), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "malformed"


async def test_one_unreadable_blob_among_several_references_refuses_them_all(
        hub: Hub, a: Peer, scene: Scene) -> None:
    data = await _pending(a, scene.x)
    reply = await refused(hub, "blob.dict-references", lambda: _patch(
        a, data, _framed(data, scene.z + scene.x), f"{sha(scene.z)}:{X_SIZE},{sha(scene.x)}:"
        f"{X_SIZE}"), allowed={409})
    assert reply.headers.get(DICT_REFUSED) == "unknown"


async def test_two_references_of_ones_own_join_in_their_order(hub: Hub, a: Peer, b: Peer,
                                                             scene: Scene) -> None:
    other = await _pending(a, os.urandom(X_SIZE))
    await upload(a, other)
    data = await _pending(a, scene.x)
    body = _framed(data, other + scene.x)
    assert len(body) < len(data) // 10
    reply = await _patch(a, data, body, f"{sha(other)}:{X_SIZE},{sha(scene.x)}:{X_SIZE}")
    assert reply.status == 204 and reply.headers.get("Upload-Complete") == "1", reply
    got = await b.request("GET", f"/v1/blobs/{sha(data)}")
    assert got.status == 200 and b"".join(FrameDecoder().feed(got.body)) == data


async def test_frames_made_against_other_content_fail_their_crc(hub: Hub, a: Peer,
                                                                scene: Scene) -> None:
    other = bytearray(scene.x)
    other[100] ^= 1  # the sender's copy of X, one bit off; its new blob repeats that copy:
    data = await _pending(a, bytes(other))  # zstd's matches copy the bit, the CRC sees it
    reply = await refused(hub, "blob.dict-mismatch", lambda: _patch(
        a, data, _framed(data, bytes(other)), f"{sha(scene.x)}:{X_SIZE}"), allowed={400})
    assert b"CRC mismatch" in reply.body or b"corrupt" in reply.body


async def test_dictionary_frames_without_a_reference_are_refused(hub: Hub, a: Peer,
                                                                 scene: Scene) -> None:
    data = await _pending(a, scene.x)
    reply = await refused(hub, "blob.dict-missing", lambda: _patch(
        a, data, _framed(data, scene.x), None), allowed={400})
    assert b"dictionary frame without a dictionary" in reply.body
