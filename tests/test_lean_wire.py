"""Fewer bytes per exchange (docs/protocol.md §3, §4): a need list the box already holds goes
without its digests (``X-Sync-Need``), and no header that nobody reads crosses the link.

Property tests for the elision's encoding, then a real hub over mutual TLS: the reply to a
request that names the hub's current need list leaves the digests out and decodes to the same
list; naming another list, or nothing, gets them all; and the headers of a sync and a PATCH
exchange carry no Date, Server, Content-Type, Accept or User-Agent.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.linkemu import PROFILES
from gateway.protocol.compression import default_compressor
from gateway.protocol.frames import FrameEncoder
from gateway.protocol.seen import NEED_HEADER, need_digest
from gateway.protocol.wire import (
    BlobNeed,
    HubConfig,
    NodeReport,
    SyncReply,
    SyncRequest,
    WireError,
    decode_reply,
    encode_reply,
    encode_request,
)
from gateway.sync.daemon import open_gateway
from gateway.sync.transport import HubClient
from gateway.testbed import Testbed
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.factories import attachment, envelope

SHA = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())
NEED = st.builds(lambda sha, size, part, urgency: BlobNeed(sha, size * part // 100, size,
                                                           urgency),
                 SHA, st.integers(0, 2**40), st.integers(0, 100), st.integers(0, 4))


def _reply(need: tuple[BlobNeed, ...]) -> SyncReply:
    return SyncReply(1_750_000_000_000, (), (), need, (), (), HubConfig(2**20, 1))


@settings(max_examples=40)
@given(st.lists(NEED, min_size=1, max_size=40).map(tuple))
def test_a_named_need_list_round_trips_without_its_digests(need: tuple[BlobNeed, ...]) -> None:
    reply = _reply(need)
    shas = tuple(n.sha256 for n in need)
    lean, full = encode_reply(reply, need_known=True), encode_reply(reply)
    assert decode_reply(lean, known=shas) == reply
    assert decode_reply(full, known=shas) == reply  # a hub that ignored the header
    assert len(lean) <= len(full) - 60 * len(need)
    with pytest.raises(WireError, match="did not name"):
        decode_reply(lean)  # digests left out of a reply to a request that named nothing
    with pytest.raises(WireError, match="did not name"):
        decode_reply(lean, known=shas[1:])
    assert shas[::-1] == shas or need_digest(shas) != need_digest(shas[::-1])


def test_a_reply_leaves_out_all_digests_or_none() -> None:
    a, b = (BlobNeed(hashlib.sha256(x).hexdigest(), 0, 10, 0) for x in (b"a", b"b"))
    packed = encode_reply(_reply((a, b)), need_known=True)
    half = packed.replace(b"\xa6sha256\xa0", b"\xa6sha256\xd9\x40" + a.sha256.encode(), 1)
    with pytest.raises(WireError, match="did not name"):
        decode_reply(half, known=(a.sha256, b.sha256))
    assert need_digest(()) == ""


async def test_the_hub_leaves_out_the_digests_the_box_named(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "province", PROFILES["lan"], wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    await tb.stop_gateway(COMMUNE_A)  # this test speaks for A itself: nothing gets uploaded
    node = tb.nodes[COMMUNE_A]
    a = await open_gateway(node.data, hub_url=tb.url(node))
    hub = a.hub
    assert isinstance(hub, HubClient)
    exchanges: list[tuple[str, set[str], set[str]]] = []

    async def ended(_s: object, _c: object, end: aiohttp.TraceRequestEndParams) -> None:
        exchanges.append((end.method, {k.lower() for k in end.headers},
                          {k.lower() for k in end.response.headers}))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    trace.freeze()
    hub.session._trace_configs.append(trace)  # watches the box's own session, changes nothing
    try:
        blobs = {hashlib.sha256(bytes([i]) * 99).hexdigest(): bytes([i]) * 99 for i in range(3)}
        docs = tuple(envelope(COMMUNE_A, (COMMUNE_B,), attachments=(attachment(data=data),))
                     for data in blobs.values())
        node_report = NodeReport("test", 0, 0, 10**10, 0, 1)
        first = await hub.sync(SyncRequest(node_report, docs, (), (), 0, 0))
        shas = [n.sha256 for n in first.need]
        assert set(shas) == set(blobs)
        compressor = default_compressor()
        body = compressor.compress(encode_request(SyncRequest(node_report, (), (), (), 0, 0)), 1)

        async def raw(named: list[str]) -> bytes:
            headers = {"X-Sync-Dict": "1", "X-Sync-Dicts": "1"}
            if named:
                headers[NEED_HEADER] = need_digest(named)
            async with hub.session.post(f"{hub.base}/v1/sync", data=body,
                                          headers=headers) as resp:
                assert resp.status == 200
                return compressor.decompress(await resp.read(), 1)

        lean, full, other = await raw(shas), await raw([]), await raw(shas[::-1])
        assert decode_reply(lean, known=shas).need == first.need
        with pytest.raises(WireError):
            decode_reply(lean)
        assert decode_reply(full).need == decode_reply(other).need == first.need
        assert len(lean) < len(full) - 3 * 60
        assert (await hub.sync(SyncRequest(node_report, (), (), (), 0, 0))).need == first.need
        assert hub.need_shas == tuple(shas)

        done = await hub.upload(shas[0], 0, 99, _frames(blobs[shas[0]]))
        assert done.offset == 99 and done.complete
        assert {m for m, _, _ in exchanges} == {"POST", "PATCH"}
        for _, sent, got in exchanges:
            assert not {"accept", "accept-encoding", "user-agent", "content-type"} & sent
            assert not {"date", "server", "content-type", "upload-length"} & got
    finally:
        await a.close()
        await tb.stop()


async def _frames(data: bytes) -> AsyncIterator[bytes]:
    yield FrameEncoder().encode(data)
