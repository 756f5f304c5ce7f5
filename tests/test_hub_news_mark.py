"""The hub's inbox mark (X-Sync-News, docs/protocol.md §3) against a real hub over mutual TLS:
sync replies and PATCH replies carry the same mark while nothing is routed to the box, and a
document routed to it changes the mark that the box's next PATCH reply carries, so a box that
is not long-polling hears of it at the end of its running upload request."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.linkemu import PROFILES
from gateway.protocol.frames import FrameEncoder
from gateway.protocol.messages import NodeReport, SyncRequest
from gateway.sync.daemon import open_gateway
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B


async def frames(data: bytes) -> AsyncIterator[bytes]:
    yield FrameEncoder().encode(data)


async def test_a_routed_document_changes_the_mark_of_the_next_patch_reply(
        tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "province", PROFILES["lan"], wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    await tb.stop_gateway(COMMUNE_B)  # B's requests are this test's own
    outgoing = tmp_path / "bao-cao.pdf"
    payload = os.urandom(64 * 1024)
    outgoing.write_bytes(payload)
    await tb.send(COMMUNE_B, [COMMUNE_A], [outgoing])  # queued at B, not yet sent
    node = tb.nodes[COMMUNE_B]
    b = await open_gateway(node.data, hub_url=tb.url(node))
    try:
        reply = await b.client.sync_once()  # the hub accepts B's envelope and needs its blob
        assert reply is not None and reply.need
        need, before = reply.need[0], b.hub.news
        assert before.isdigit()
        half = need.size // 2
        first = await b.hub.upload(need.sha256, 0, need.size, frames(payload[:half]))
        assert (first.offset, first.complete, first.news) == (half, False, before)

        incoming = tmp_path / "cong-van.pdf"
        incoming.write_bytes(b"%PDF-1.4 cong van\n")
        await tb.send(COMMUNE_A, [COMMUNE_B], [incoming])

        async def routed() -> bool:
            poll = SyncRequest(NodeReport("test", 0, 0, 10**10, 0, 1), (), (), (), 0, 0)
            return bool((await b.hub.sync(poll)).inbox)

        assert await wait_until(routed, 20)
        rest = await b.hub.upload(need.sha256, half, need.size, frames(payload[half:]))
        assert rest.complete and rest.news != before
        assert rest.news == b.hub.news  # the sync that saw the document had the same mark
    finally:
        await b.close()
        await tb.stop()
