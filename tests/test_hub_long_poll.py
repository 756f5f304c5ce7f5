"""The hub's long-poll against a real hub over mutual TLS: it waits while the gateway already
holds the whole inbox it would send (X-Sync-Seen), answers at once when it does not, and a new
sync from the same gateway ends its earlier long-poll (which the gateway stopped waiting for)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.linkemu import PROFILES
from gateway.protocol.messages import NodeReport, SyncRequest
from gateway.protocol.seen import inbox_digest
from gateway.sync.daemon import open_gateway
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B

WAIT_S = 3


def poll(wait: int) -> SyncRequest:
    return SyncRequest(NodeReport("test", 0, 0, 10**10, 0, 1), (), (), (), 0, wait)


async def test_long_poll_waits_on_a_seen_inbox_and_ends_on_a_new_sync(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "province", PROFILES["lan"], wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    await tb.stop_gateway(COMMUNE_B)  # B's inbox stays unacked: this test asks for it itself
    node = tb.nodes[COMMUNE_B]
    b = await open_gateway(node.data, hub_url=tb.url(node))
    try:
        f = tmp_path / "cv.pdf"
        f.write_bytes(b"%PDF-1.4 test\n")
        await tb.send(COMMUNE_A, [COMMUNE_B], [f])

        async def routed() -> bool:
            return bool((await b.hub.sync(poll(0))).inbox)

        assert await wait_until(routed, 20)
        seen = inbox_digest((await b.hub.sync(poll(0))).inbox)

        started = time.monotonic()
        reply = await b.hub.sync(poll(WAIT_S))  # no X-Sync-Seen: the inbox is news
        assert reply.inbox and time.monotonic() - started < WAIT_S / 2

        started = time.monotonic()
        reply = await b.hub.sync(poll(WAIT_S), seen)  # B holds it already: the hub waits
        assert reply.inbox and time.monotonic() - started >= WAIT_S - 0.2

        started = time.monotonic()
        waiting = asyncio.create_task(b.hub.sync(poll(20), seen))
        await asyncio.sleep(0.5)
        await b.hub.sync(poll(0), seen)  # B stopped waiting and syncs anew
        await asyncio.wait_for(waiting, 5)  # the old poll is answered, not left for 20 s
        assert time.monotonic() - started < 5
    finally:
        await b.close()
        await tb.stop()
