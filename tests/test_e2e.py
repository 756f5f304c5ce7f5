"""A hub and three communes on loopback, real TLS, through links that cut and black out."""

from __future__ import annotations

import random
from pathlib import Path

from gateway.linkemu import PROFILES
from gateway.protocol.limits import MIN_FRAME
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B, COMMUNE_C
from tests.e2e_helpers import assert_delivered_exactly_once, digest, senders_saw_delivery

AGENCIES = (COMMUNE_A, COMMUNE_B, COMMUNE_C)
# 3G with its character kept (RTT, cut, blackout ratios) but time compressed: cuts about every
# 2 s with 0.5 s blackouts, 8x the bandwidth so the test stays short.
FAST_BAD_3G = PROFILES["3g-bad"].scaled(bandwidth=8, time=0.1)
BOX_BUFFERS = 192 * 1024


async def test_documents_cross_cutting_links_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(7)
    tb = Testbed(tmp_path / "province", FAST_BAD_3G, seed=3, wait_s=2)
    await tb.start(AGENCIES)
    try:
        expected: dict[str, set[str]] = {a: set() for a in AGENCIES}
        files: dict[str, str] = {}
        sizes: dict[str, dict[str, int]] = {a: {} for a in AGENCIES}
        for n in range(66):
            sender = AGENCIES[n % 3]
            others = [a for a in AGENCIES if a != sender]
            to = others if n % 11 == 0 else [rng.choice(others)]  # some go to both
            path = tmp_path / f"doc{n}.pdf"
            path.write_bytes(rng.randbytes(rng.choice((3_000, 20_000, 60_000, 150_000))))
            doc_id = await tb.send(sender, to, [path],
                                   urgency=rng.choice(("thuong", "khan", "hoa-toc")))
            files[doc_id] = digest(path)
            sizes[sender][files[doc_id]] = path.stat().st_size
            for r in to:
                expected[r].add(doc_id)

        async def all_arrived() -> bool:
            for agency, want in expected.items():
                if {d.envelope.id for d in await tb.inbox(agency)} != want:
                    return False
            return await senders_saw_delivery(tb)

        assert await wait_until(all_arrived, 240), "not everything arrived"
        await assert_delivered_exactly_once(tb, expected, files, tmp_path / "export")
        cuts = sum(n.proxy.stats.cuts for n in tb.nodes.values())
        assert cuts >= 3, "the link never cut: the test proves nothing"
        # What crossed the link and was thrown away: the frame a cut interrupted, no more.
        assert tb.hub is not None
        largest = max(tb.gateway(a).client.stats.max_frame for a in AGENCIES)
        assert tb.hub.state.lost_bytes <= cuts * (max(largest, MIN_FRAME) + 13)
        for agency in AGENCIES:
            # Payload handed to the socket again: per cut, the frames in flight plus what sat
            # in this box's own buffers (aiohttp writes up to 64 KiB before it waits; kernel).
            stats = tb.gateway(agency).client.stats
            again = stats.blob_bytes_up - sum(sizes[agency].values())
            node_cuts = tb.nodes[agency].proxy.stats.cuts
            assert again <= max(1, node_cuts) * (2 * stats.max_frame + BOX_BUFFERS), agency
    finally:
        await tb.stop()


async def test_hoa_toc_overtakes_a_bulk_upload(tmp_path: Path) -> None:
    profile = PROFILES["adsl"].scaled(bandwidth=6, time=1.0)
    tb = Testbed(tmp_path / "province", profile, seed=5, wait_s=2)
    await tb.start((COMMUNE_A, COMMUNE_B))
    try:
        bulk = tmp_path / "so-lieu-thong-ke.pdf"
        bulk.write_bytes(random.Random(1).randbytes(6 * 2**20))
        urgent = tmp_path / "hoa-toc.pdf"
        urgent.write_bytes(random.Random(2).randbytes(40_000))
        bulk_id = await tb.send(COMMUNE_A, [COMMUNE_B], [bulk], urgency="thuong")
        client = tb.gateway(COMMUNE_A).client

        async def bulk_in_flight() -> bool:
            return client.stats.blob_bytes_up > 2**20

        assert await wait_until(bulk_in_flight, 60)
        urgent_id = await tb.send(COMMUNE_A, [COMMUNE_B], [urgent], urgency="hoa-toc")

        async def urgent_arrived() -> bool:
            return urgent_id in {d.envelope.id for d in await tb.inbox(COMMUNE_B)}

        assert await wait_until(urgent_arrived, 60)
        assert bulk_id not in {d.envelope.id for d in await tb.inbox(COMMUNE_B)}
        assert client.stats.blob_bytes_up < bulk.stat().st_size, "bulk finished first"

        async def bulk_arrived() -> bool:
            return bulk_id in {d.envelope.id for d in await tb.inbox(COMMUNE_B)}

        assert await wait_until(bulk_arrived, 120)
    finally:
        await tb.stop()
