"""Going on with an interrupted frame, end to end (docs/protocol.md §4): a real hub and a real
box, mutual TLS through the link emulator, cut again and again in the middle of frames. The
hub keeps what arrived of each frame in flight, the box sends only the rest, and the documents
arrive byte for byte, exactly once; what the cuts cost is a part of a TLS record each, not a
frame."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from gateway.linkemu import LinkProfile
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import assert_delivered_exactly_once, digest

LINK = LinkProfile("thin", down_bps=4_000_000, up_bps=800_000, rtt_ms=40.0)
CUTS = 4


async def test_cut_frames_go_on_where_they_broke(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "province", LINK, wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    try:
        assert tb.hub is not None
        gw, proxy, hub = tb.gateway(COMMUNE_A), tb.nodes[COMMUNE_A].proxy, tb.hub.state
        await asyncio.sleep(0.5)  # connected: the hub's offer is known
        files = []
        for i in range(2):
            f = tmp_path / f"scan-{i}.pdf"
            f.write_bytes(b"%PDF-1.4\n" + os.urandom(700_000))  # incompressible, as scans are
            files.append(f)
        docs = [await tb.send(COMMUNE_A, [COMMUNE_B], [f], wake=False) for f in files]
        gw.client.wake()
        corpus = sum(f.stat().st_size for f in files)
        for n in range(1, CUTS + 1):
            async def moved(share: float = n / (CUTS + 2)) -> bool:
                return gw.client.stats.blob_bytes_up > share * corpus

            assert await wait_until(moved, 60, poll_s=0.01)
            await asyncio.sleep(0.15)  # mid-frame: frames are ~1 s of the link
            await proxy.cut_now(blackout=0.3)

        async def delivered() -> bool:
            return {d.envelope.id for d in await tb.inbox(COMMUNE_B)} == set(docs)

        assert await wait_until(delivered, 90)
        assert gw.client.hub.upload_resume
        held = hub.held_frames
        assert held.kept >= 2 and held.resumed >= 2, (held.kept, held.resumed, hub.lost_bytes)
        assert held.resumed_bytes > 8 * 1024
        # What a cut still loses: the last TLS record's part, and a frame the box could not
        # go on with (a cut between frames, or before the hub's answer was known).
        assert hub.lost_bytes < held.resumed_bytes, (hub.lost_bytes, held.resumed_bytes)
        assert held.held_bytes == 0  # every piece was gone on with or dropped
        await assert_delivered_exactly_once(
            tb, {COMMUNE_B: set(docs)},
            {d: digest(f) for d, f in zip(docs, files, strict=True)}, tmp_path / "out")
    finally:
        await tb.stop()
