"""Hostile blob requests: path-like names, lying headers, corrupt and bombed frames, and
uploads or downloads of blobs that are not the caller's.

Scene: A has sent B a document whose blob X is complete at the hub, and a second one whose
blob Y (``Y_SIZE`` bytes) the hub still needs from A, from offset 0. Every hostile PATCH hits
Y at its true offset, so a refusal could only be caused by the hostile part.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest
import pytest_asyncio
import zstandard

from gateway.protocol.frames import FRAME_HEADER, KIND_ZSTD
from gateway.protocol.limits import MAX_FRAME_OVERHEAD as MAX_OVERHEAD
from gateway.protocol.limits import MAX_FRAME_RAW as MAX_RAW
from tests.security.hostile import (
    FRAMES_TYPE,
    A,
    B,
    Hub,
    Peer,
    doc,
    frames,
    neutral,
    raw_frame,
    refused,
    sha,
    upload,
)
from tests.security.raw import raw_refused

pytestmark = pytest.mark.asyncio(loop_scope="module")
Y_SIZE = 40_000


@dataclass(frozen=True)
class Scene:
    x: bytes  # complete at the hub, A -> B
    y: bytes  # accepted, not uploaded yet, A -> B


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(hub: Hub) -> Scene:
    a = hub.peers[A]
    x, y = os.urandom(50_000), os.urandom(Y_SIZE)
    reply = await a.sync(out=(doc(A, B, x), doc(A, B, y)))
    assert len(reply.accepted) == 2 and not reply.refused
    await upload(a, x)
    return Scene(x, y)


def _request(method: str, path: str, *, headers: str = "", body: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body


# Spellings of a path, or near-misses of the caller's own pending digest (the exact lower-case
# digest would be accepted, so a refusal can only come from the name check).
NAMES: dict[str, tuple[Callable[[str], str], set[int]]] = {
    "dotdot-passwd": (lambda d: "../../etc/passwd", {404}),  # normalised away: no such route
    "encoded-dotdot": (lambda d: "%2e%2e%2f%2e%2e%2fetc%2fpasswd", {400, 404}),
    "encoded-dotdot-only": (lambda d: "%2e%2e", {400, 404}),
    "dotdot": (lambda d: "..", {400, 404}),
    "backslash": (lambda d: "..%5c..%5cetc%5cpasswd", {400}),
    "upper-hex": (lambda d: d.upper(), {400}),
    "63-chars": (lambda d: d[:63], {400}),
    "65-chars": (lambda d: d + "a", {400}),
    "non-hex": (lambda d: d[:63] + "g", {400}),
    "nul": (lambda d: d[:63] + "%00", {400}),
    "newline": (lambda d: d + "%0a", {400}),
    "leading-space": (lambda d: "%20" + d[1:], {400}),
    "fullwidth": (lambda d: "%EF%BD%86" * 64, {400}),
    "encoded-slash": (lambda d: d[:32] + "%2f" + d[33:], {400, 404}),
    "dotdot-prefix": (lambda d: "..%2f" + d, {400, 404}),
}


@pytest.mark.parametrize("method", ["PATCH", "HEAD", "GET"])
@pytest.mark.parametrize("name", sorted(NAMES))
async def test_path_like_blob_names_are_refused(hub: Hub, a: Peer, scene: Scene, method: str,
                                                name: str) -> None:
    spell, allowed = NAMES[name]
    data = _request(method, f"/v1/blobs/{spell(sha(scene.y))}",
                    headers=f"Upload-Offset: 0\r\nUpload-Length: {Y_SIZE}\r\n")
    await raw_refused(hub, "blob.name", a.ctx, data, allowed=allowed)


BAD_LENGTHS = {"one-less": str(Y_SIZE - 1), "one-more": str(Y_SIZE + 1), "zero": "0",
               "negative": "-1", "plus": f"+{Y_SIZE}", "exponent": "4e4", "hex": "0x9c40",
               "sixteen-digits": "9" * 16, "superscript": "\u00b3", "empty": ""}


@pytest.mark.parametrize("name", sorted(BAD_LENGTHS))
async def test_wrong_upload_length_is_refused(hub: Hub, a: Peer, scene: Scene,
                                              name: str) -> None:
    await refused(hub, "blob.upload-length", lambda: a.request(
        "PATCH", f"/v1/blobs/{sha(scene.y)}", body=frames(scene.y),
        headers={"Upload-Offset": "0", "Content-Type": FRAMES_TYPE,
                 "Upload-Length": BAD_LENGTHS[name]}), allowed={400})


BAD_OFFSETS = {"ahead": ("1", 409), "far-ahead": (str(Y_SIZE), 409), "negative": ("-1", 400),
               "superscript": ("\u00b2", 400), "empty": ("", 400), "words": ("zero", 400)}


@pytest.mark.parametrize("name", sorted(BAD_OFFSETS))
async def test_wrong_upload_offset_is_refused(hub: Hub, a: Peer, scene: Scene,
                                              name: str) -> None:
    value, status = BAD_OFFSETS[name]
    reply = await refused(hub, "blob.upload-offset", lambda: a.request(
        "PATCH", f"/v1/blobs/{sha(scene.y)}", body=frames(scene.y[:1000]),
        headers={"Upload-Offset": value, "Upload-Length": str(Y_SIZE),
                 "Content-Type": FRAMES_TYPE}), allowed={status})
    if status == 409:
        assert reply.headers["Upload-Offset"] == "0"


def _zstd(data: bytes, *, size: bool = True) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=size).compress(data)


def _lying_content_size(data: bytes, claimed: int) -> bytes:
    """zstd of ``data`` whose header declares ``claimed`` bytes (4-byte FCS field)."""
    packed = bytearray(_zstd(data))
    assert packed[4] >> 6 == 2, "expected a 4-byte content size field"
    offset = 5 + (0 if packed[4] & 0x20 else 1)
    packed[offset:offset + 4] = struct.pack("<I", claimed)
    return bytes(packed)


def _corrupt_frames() -> dict[str, bytes]:
    piece = os.urandom(1000)
    zeros = b"\0" * MAX_RAW
    bomb = _zstd(zeros)
    return {
        "bad-crc": raw_frame(piece, crc=zlib.crc32(piece) ^ 1),
        "kind-2": raw_frame(piece, kind=2),
        "kind-255": raw_frame(piece, kind=255),
        "raw-wire-len-lies": raw_frame(piece, wire_len=999) + b"\0",
        "raw-len-over-max": FRAME_HEADER.pack(0, MAX_RAW + 1, MAX_RAW + 1, 0),
        "raw-len-4GiB": FRAME_HEADER.pack(1, 100, 2**32 - 1, 0) + b"\0" * 100,
        "zstd-wire-over-raw": raw_frame(b"\0" * (MAX_OVERHEAD + 11), kind=KIND_ZSTD, raw_len=10),
        "zstd-not-zstd": raw_frame(piece, kind=KIND_ZSTD),
        "zstd-no-content-size": raw_frame(_zstd(piece, size=False), kind=KIND_ZSTD,
                                          raw_len=1000, crc=zlib.crc32(piece)),
        "zstd-size-lies": raw_frame(_lying_content_size(b"\0" * 100_000, 1000),
                                    kind=KIND_ZSTD, raw_len=1000, crc=zlib.crc32(b"\0" * 1000)),
        "zstd-corrupt": raw_frame(_zstd(piece)[:-3] + b"xyz", kind=KIND_ZSTD, raw_len=1000,
                                  crc=zlib.crc32(piece)),
        "zstd-bomb-4MiB-in-40kB-blob": raw_frame(bomb, kind=KIND_ZSTD, raw_len=MAX_RAW,
                                                  crc=zlib.crc32(zeros)),
        "zstd-bomb-declares-more": raw_frame(_lying_content_size(b"\0" * (16 * 2**20), 1000),
                                             kind=KIND_ZSTD, raw_len=1000,
                                             crc=zlib.crc32(b"\0" * 1000)),
        "more-than-declared": frames(os.urandom(Y_SIZE + 1), size=Y_SIZE + 1),
        "two-frames-overflow": raw_frame(os.urandom(Y_SIZE + 100)),
    }


CORRUPT = _corrupt_frames()


@pytest.mark.parametrize("name", sorted(CORRUPT))
async def test_corrupt_frame_is_refused_and_nothing_kept(hub: Hub, a: Peer, scene: Scene,
                                                         name: str) -> None:
    reply = await refused(hub, "blob.frame", lambda: a.patch(sha(scene.y), 0, Y_SIZE,
                                                             CORRUPT[name]), allowed={400})
    assert reply.headers.get("Upload-Offset") == "0"


async def test_frame_cut_short_keeps_nothing(hub: Hub, a: Peer, scene: Scene) -> None:
    """A header promising more bytes than the body holds: treated as a cut, nothing kept."""
    body = frames(scene.y)[:FRAME_HEADER.size + 500]
    reply = await neutral(hub, "blob.frame", lambda: a.patch(sha(scene.y), 0, Y_SIZE, body),
                          status=204)
    assert reply.headers["Upload-Offset"] == "0"


async def test_wrong_bytes_for_a_digest_are_discarded(hub: Hub, a: Peer, scene: Scene) -> None:
    """Upload-Length bytes that do not hash to the name: 422, and the partial is gone."""
    reply = await refused(hub, "blob.digest", lambda: a.patch(
        sha(scene.y), 0, Y_SIZE, frames(os.urandom(Y_SIZE))), allowed={422})
    assert reply.headers["Upload-Offset"] == "0"


async def test_not_your_blob_cannot_be_uploaded(hub: Hub, b: Peer, c: Peer,
                                                scene: Scene) -> None:
    unknown = os.urandom(100)
    cases = [
        (c, sha(scene.y), scene.y),  # someone else's pending blob
        (b, sha(scene.y), scene.y),  # a blob of a document addressed to the caller
        (c, sha(unknown), unknown),  # nobody's blob
        (b, sha(scene.x), scene.x),  # complete, addressed to the caller
    ]
    for peer, digest, data in cases:
        await refused(hub, "blob.not-yours", partial(peer.patch, digest, 0, len(data),
                                                     frames(data)), allowed={404})
        await refused(hub, "blob.not-yours", partial(peer.request, "HEAD", f"/v1/blobs/{digest}"),
                      allowed={404})


async def test_not_your_blob_cannot_be_read(hub: Hub, b: Peer, c: Peer, scene: Scene) -> None:
    assert (await b.request("GET", f"/v1/blobs/{sha(scene.x)}")).status == 200  # sanity
    for peer, digest in [(c, sha(scene.x)), (c, sha(scene.y)),
                         (b, sha(scene.y)),  # addressed to B, but not complete yet
                         (c, "0" * 64)]:
        await refused(hub, "blob.not-yours", partial(peer.request, "GET", f"/v1/blobs/{digest}"),
                      allowed={404})


BAD_QUERIES = {"offset-words": {"offset": "x"}, "offset-negative": {"offset": "-1"},
               "offset-superscript": {"offset": "\u00b9"}, "limit-superscript": {"limit": "\u00b2"},
               "frame-superscript": {"frame": "\u00b3"}, "offset-past-end": {"offset": "50001"},
               "limit-16-digits": {"limit": "1" * 16}}


@pytest.mark.parametrize("name", sorted(BAD_QUERIES))
async def test_bad_download_ranges_are_refused(hub: Hub, b: Peer, scene: Scene,
                                               name: str) -> None:
    await refused(hub, "blob.range", lambda: b.request(
        "GET", f"/v1/blobs/{sha(scene.x)}", params=BAD_QUERIES[name]), allowed={400, 416})
