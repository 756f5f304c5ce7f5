"""The hub's inbox mark (X-Sync-News, docs/protocol.md §3) against a real hub over mutual TLS:
sync replies and PATCH replies carry the same mark while nothing is routed to the box, and a
document routed to it changes the mark that the box's next PATCH reply carries, so a box that
is not long-polling hears of it at the end of its running upload request; and the box's pure
rules about it (which marks it keeps, when a link that cut is steady again)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.linkemu import PROFILES
from gateway.protocol.frames import FrameEncoder
from gateway.protocol.messages import NodeReport, SyncRequest
from gateway.protocol.pacing import SAME_CUT_S, CutWatch
from gateway.protocol.seen import MAX_NEWS, news_mark
from gateway.sync.daemon import open_gateway
from gateway.sync.quiet import STEADY_S, unsteady_s
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


@given(st.text(max_size=40))
def test_the_box_keeps_a_mark_only_if_it_is_a_short_decimal(value: str) -> None:
    kept = news_mark(value)
    assert kept in ("", value)
    assert kept == "" or (kept.isascii() and kept.isdigit() and len(kept) <= MAX_NEWS)
    assert news_mark(None) == ""


@given(st.floats(0, 1e4), st.floats(0, 1e4), st.floats(0, 1e4))
def test_the_link_turns_steady_once_and_for_good(first: float, gap: float, later: float) -> None:
    cuts = CutWatch(0.0)
    assert unsteady_s(cuts, first) == 0  # never cut: steady
    cuts.cut(first)
    cuts.cut(first + gap)
    left = unsteady_s(cuts, first + gap)
    assert left >= STEADY_S - 1e-9 or gap < SAME_CUT_S  # a cut just came: a window starts
    assert abs(unsteady_s(cuts, first + gap + later) - max(0.0, left - later)) < 1e-6
