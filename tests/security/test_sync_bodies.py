"""Hostile ``POST /v1/sync`` bodies: junk msgpack, broken zstd, bombs, limits, versions.

Every body here is refused before the hub touches its state (decoding comes first), so even
the caller's heartbeat row must stay as it was.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Callable

import msgpack
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol.limits import MAX_ACKS, MAX_ITEMS, MAX_STATUSES
from gateway.protocol.limits import MAX_BODY as MAX_OUT
from gateway.protocol.limits import MAX_COMPRESSED_BODY as MAX_IN
from gateway.protocol.limits import MAX_OUT as MAX_OUT_ENVELOPES
from tests.security.hostile import (
    COMPRESSOR,
    HOSTILE,
    NODE,
    SYNC_TYPE,
    Hub,
    Peer,
    Reply,
    packable_ints,
    packed,
    plain_request,
    refused,
    sync_request,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
BAD = {400, 413}
STATUS = {"sid": "0190d3c2-6b1e-7c3a-9f00-000000000001", "doc": "x", "code": "01", "note": "",
          "at_ms": 0}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True), st.text(max_size=40), st.binary(max_size=40))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)),
    max_leaves=30)

# Values that no int field, no text field and no list field of a request can accept.
not_an_int = st.one_of(st.none(), st.text(max_size=5), st.floats(), st.booleans(),
                       st.integers(max_value=-1, min_value=-(2**63)),
                       st.integers(min_value=2**63, max_value=2**64 - 1),
                       st.lists(st.integers(0, 9), max_size=2))
not_a_version = st.one_of(st.none(), packable_ints, st.text(min_size=65, max_size=80),
                          st.lists(st.text(max_size=3), max_size=2))
not_a_list = st.one_of(st.none(), packable_ints, st.text(max_size=5),
                       st.dictionaries(st.text(max_size=3), packable_ints, max_size=2))
bad_status = st.one_of(
    st.builds(lambda s: {**STATUS, "sid": s}, st.text(max_size=40)),
    st.builds(lambda s: {**STATUS, "code": s}, st.text(max_size=3).filter(
        lambda s: s not in {"01", "02", "03", "04", "05", "06", "13", "15", "16"})),
    st.builds(lambda s: {**STATUS, "note": s}, st.text(min_size=501, max_size=520)),
    st.builds(lambda n: {**STATUS, "at_ms": n}, not_an_int),
    st.builds(lambda k: {**STATUS, k: 1}, st.text(min_size=1, max_size=8).filter(
        lambda k: k not in STATUS)),
    st.builds(lambda k: {x: v for x, v in STATUS.items() if x != k}, st.sampled_from(
        sorted(STATUS))),
)


@st.composite
def broken_requests(draw: st.DrawFn) -> dict[str, object]:
    """A valid request with exactly one thing made wrong."""
    req = plain_request()
    node = dict(NODE)
    kind = draw(st.sampled_from(["top-int", "node-int", "version", "list", "acks", "statuses",
                                 "unknown-top", "unknown-node", "missing-top", "missing-node"]))
    if kind == "top-int":
        req[draw(st.sampled_from(["rcursor", "wait"]))] = draw(not_an_int)
    elif kind == "node-int":
        node[draw(st.sampled_from(sorted(set(NODE) - {"version"})))] = draw(not_an_int)
    elif kind == "version":
        node["version"] = draw(not_a_version)
    elif kind == "list":
        req[draw(st.sampled_from(["out", "acks", "statuses"]))] = draw(not_a_list)
    elif kind == "acks":
        req["acks"] = [*draw(st.lists(st.integers(0, 99), max_size=3)), draw(not_an_int)]
    elif kind == "statuses":
        req["statuses"] = [draw(bad_status)]
    elif kind == "unknown-top":
        req[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in req))] = 0
    elif kind == "unknown-node":
        node[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in NODE))] = 0
    elif kind == "missing-top":
        del req[draw(st.sampled_from(sorted(set(req) - {"v", "node"})))]
    else:
        del node[draw(st.sampled_from(sorted(NODE)))]
    req["node"] = node
    if kind == "missing-top" and draw(st.booleans()):
        del req["node"]
    return req


@HOSTILE
@given(obj=junk)
async def test_junk_msgpack_is_refused(hub: Hub, a: Peer, obj: object) -> None:
    await refused(hub, "sync.msgpack-junk", lambda: a.sync_raw(packed(obj)), allowed=BAD)


@HOSTILE
@given(req=broken_requests())
async def test_request_with_one_wrong_field_is_refused(hub: Hub, a: Peer,
                                                       req: dict[str, object]) -> None:
    await refused(hub, "sync.msgpack-field", lambda: a.sync_raw(packed(req)), allowed={400})


@settings(HOSTILE, max_examples=15)
@given(body=st.one_of(st.binary(max_size=300),
                      st.binary(max_size=300).map(lambda b: b"\x28\xb5\x2f\xfd" + b)))
async def test_random_bytes_are_refused(hub: Hub, a: Peer, body: bytes) -> None:
    await refused(hub, "sync.zstd-junk", lambda: a.sync_raw(body), allowed=BAD)


@settings(HOSTILE, max_examples=12)
@given(data=st.data())
async def test_truncated_body_is_refused(hub: Hub, a: Peer, data: st.DataObject) -> None:
    full = packed(plain_request(acks=list(range(300))))
    body = full[:data.draw(st.integers(0, len(full) - 1))]
    await refused(hub, "sync.truncated", lambda: a.sync_raw(body), allowed={400})


def _no_size(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=False).compress(data)


def _streamed(data: bytes) -> bytes:
    """A frame written by a streaming compressor: no content size in its header."""
    cobj = zstandard.ZstdCompressor().compressobj()
    return cobj.compress(data) + cobj.flush()


def _lying_size(actual: int, claimed: int) -> bytes:
    """A frame declaring ``claimed`` bytes that really holds ``actual`` (2-byte FCS field)."""
    assert 256 <= claimed < 65536 + 256
    body = zstandard.ZstdCompressor(write_content_size=False, write_checksum=False)\
        .compress(b"\0" * actual)
    # Rebuild the header: FCS flag 1 (2 bytes), not single-segment, window descriptor 2^20.
    fhd = 0b01_0_0_0_0_00
    blocks = body[4 + 2:]  # skip magic, FHD and window descriptor of the original
    assert body[4] == 0b00_0_0_0_0_00, body[4]
    return b"\x28\xb5\x2f\xfd" + bytes([fhd, body[5]]) + struct.pack("<H", claimed - 256) + \
        blocks


def _huge_window() -> bytes:
    """A tiny, valid request in a frame whose header demands a 1 GiB window."""
    payload = msgpack.packb(plain_request(acks=list(range(300))), use_bin_type=True)
    assert 256 <= len(payload) < 65536 + 256
    fhd = 0b01_0_0_0_0_00  # 2-byte content size, window descriptor present
    window = (30 - 10) << 3  # windowLog 30
    block = struct.pack("<I", (len(payload) << 3) | 1)[:3]  # last block, raw
    return b"\x28\xb5\x2f\xfd" + bytes([fhd, window]) + struct.pack("<H", len(payload) - 256) \
        + block + payload


BOMBS: dict[str, tuple[Callable[[], bytes], int]] = {
    "declared-over-8MiB": (lambda: COMPRESSOR.compress(b"\0" * (MAX_OUT + 1), 0), 413),
    "declared-64MiB": (lambda: COMPRESSOR.compress(b"\0" * (64 * 2**20), 0), 413),
    "undeclared-16MiB": (lambda: _no_size(b"\0" * (16 * 2**20)), 400),
    "streamed-undeclared": (lambda: _streamed(b"\xc0" * 2**20), 400),
    "size-lies-small": (lambda: _lying_size(2**20, 300), 400),
    "two-frames": (lambda: sync_request() + sync_request(), 400),
    "trailing-garbage": (lambda: sync_request() + b"\0" * 8, 400),
    "huge-window": (_huge_window, 400),
    "skippable-frame": (lambda: b"\x50\x2a\x4d\x18" + struct.pack("<I", 4) + b"abcd", 400),
    "corrupt-checksum": (lambda: sync_request()[:-1] + bytes([sync_request()[-1] ^ 1]), 400),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
async def test_zstd_bomb_and_frame_tricks_are_refused(hub: Hub, a: Peer, name: str) -> None:
    make, status = BOMBS[name]
    body = make()
    assert len(body) <= MAX_IN
    await refused(hub, "sync.zstd-bomb", lambda: a.sync_raw(body), allowed={status})


DICT_HEADERS = ["7", "-1", "abc", "", "1 1", "99999999999999999999", "0x1", "1.0", "\u0661"]


@pytest.mark.parametrize("value", DICT_HEADERS)
async def test_unknown_sync_dict_is_refused(hub: Hub, a: Peer, value: str) -> None:
    body = packed(plain_request())
    header = value.encode("utf-8").decode("latin-1")
    await refused(hub, "sync.dict", lambda: a.sync_raw(body, {"X-Sync-Dict": header}),
                  allowed={400})


@pytest.mark.parametrize(("used", "claimed"), [(1, "0"), (1, "2")])
async def test_body_compressed_with_another_dict_is_refused(hub: Hub, a: Peer, used: int,
                                                            claimed: str) -> None:
    assert used in COMPRESSOR.ids()
    body = packed(plain_request(), used)
    await refused(hub, "sync.dict", lambda: a.sync_raw(body, {"X-Sync-Dict": claimed}),
                  allowed={400})


VERSIONS: list[object] = [0, 2, 255, 2**32, 2**64 - 1, -1, "1", True, 1.0, None, [1], {"v": 1}]


@pytest.mark.parametrize("version", VERSIONS, ids=repr)
async def test_unknown_protocol_version_is_refused(hub: Hub, a: Peer, version: object) -> None:
    reply = await refused(hub, "sync.version",
                          lambda: a.sync_raw(packed(plain_request(v=version))), allowed={400})
    assert b"version" in reply.body


async def test_missing_version_is_refused(hub: Hub, a: Peer) -> None:
    req = plain_request()
    del req["v"]
    await refused(hub, "sync.version", lambda: a.sync_raw(packed(req)), allowed={400})


def _status(n: int) -> dict[str, object]:
    return {**STATUS, "sid": f"0190d3c2-6b1e-7c3a-9f00-{n:012x}"}


def _with_int_key() -> dict[object, object]:
    body: dict[object, object] = {1: 2}
    body.update(plain_request())
    return body


LIMITS: dict[str, object] = {
    "acks-1025": plain_request(acks=list(range(MAX_ACKS + 1))),
    "statuses-257": plain_request(statuses=[_status(n) for n in range(MAX_STATUSES + 1)]),
    "out-65": plain_request(out=[{}] * (MAX_OUT_ENVELOPES + 1)),
    "version-65-chars": plain_request(node={**NODE, "version": "v" * 65}),
    "string-5000-bytes": plain_request(node={**NODE, "version": "ệ" * 1700}),
    "note-501": plain_request(statuses=[{**STATUS, "note": "n" * 501}]),
    "bin-field": plain_request(node={**NODE, "version": b"bytes"}),
    "ext-field": plain_request(rcursor=msgpack.ExtType(5, b"x")),
    "map-65-keys": plain_request(node={**NODE, **{f"k{i}": 0 for i in range(60)}}),
    "nested-6": plain_request(out=[[[[[[]]]]]]),
    "item-budget": plain_request(node={**NODE, "version": [[0] * 1000] * (MAX_ITEMS // 1000)}),
    "int-key": _with_int_key(),
    "wait-61": plain_request(wait=61),
}


@pytest.mark.parametrize("name", sorted(LIMITS))
async def test_decoder_limits_are_enforced(hub: Hub, a: Peer, name: str) -> None:
    body = packed(LIMITS[name])
    await refused(hub, "sync.limits", lambda: a.sync_raw(body), allowed={400})


RAW_MSGPACK = {
    "depth-5000": b"\x91" * 5000 + b"\xc0",
    "duplicate-key": b"\x82\xa1v\x01\xa1v\x01",
    "map-header-lies": b"\xdf\xff\xff\xff\xff",
    "array-header-lies": b"\xdd\xff\xff\xff\xff",
    "str-header-lies": b"\x81\xa1v\xdb\xff\xff\xff\xff",
    "not-a-map": msgpack.packb([1, 2, 3]),
}


@pytest.mark.parametrize("name", sorted(RAW_MSGPACK))
async def test_hand_made_msgpack_is_refused(hub: Hub, a: Peer, name: str) -> None:
    body = COMPRESSOR.compress(RAW_MSGPACK[name], 0)
    await refused(hub, "sync.limits", lambda: a.sync_raw(body), allowed={400})


async def test_declared_oversized_body_is_refused(hub: Hub, a: Peer) -> None:
    body = b"\x28\xb5\x2f\xfd" + b"\0" * (MAX_IN + 1)
    await refused(hub, "sync.oversized", lambda: a.sync_raw(body), allowed={413})


async def test_chunked_oversized_body_is_refused(hub: Hub, a: Peer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"\0" * 65536

    async def send() -> Reply:
        return await a.request("POST", "/v1/sync", stream=chunks,
                               headers={"Content-Type": SYNC_TYPE, "X-Sync-Dict": "0"})

    await refused(hub, "sync.oversized", send, allowed={413})
