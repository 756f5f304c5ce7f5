"""Chained uploads end to end (docs/protocol.md §4): a real hub and a real box, mutual TLS
through the link emulator. Ten small documents queued at once go in one PATCH, each blob after
a chain frame, every one delivered exactly once; with a cut in the middle of the chain the next
request goes on from the hub's offsets, still exactly once, and the cut costs one connection
(the issue's goal, #10: at most cuts + 2)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from gateway.linkemu import LinkProfile
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import assert_delivered_exactly_once, digest

DOCS = 10
SIZE = 40_000  # random bytes: ~0.3 s each on this link, so a cut lands inside the chain
LINK = LinkProfile("thin", down_bps=4_000_000, up_bps=1_000_000, rtt_ms=40.0)


@pytest.mark.parametrize("cuts", [0, 1])
async def test_small_documents_chain_in_one_request(tmp_path: Path, cuts: int) -> None:
    tb = Testbed(tmp_path / "province", LINK, wait_s=25)
    await tb.start([COMMUNE_A, COMMUNE_B])
    try:
        assert tb.hub is not None
        counts, proxy = tb.hub.state.requests, tb.nodes[COMMUNE_A].proxy
        gw = tb.gateway(COMMUNE_A)
        await asyncio.sleep(0.5)  # connected and long-polling
        files: list[Path] = []
        for i in range(DOCS):
            f = tmp_path / f"tep-{i}.pdf"
            f.write_bytes(os.urandom(SIZE))
            files.append(f)
        # Queued while the box long-polls, then woken once: one sync names them all.
        docs = [await tb.send(COMMUNE_A, [COMMUNE_B], [f], wake=False) for f in files]
        before, patches, chains = proxy.stats.connections, counts.get("patch", 0), \
            counts.get("chain", 0)
        gw.client.wake()
        if cuts:
            async def halfway() -> bool:
                return gw.client.stats.blob_bytes_up > DOCS * SIZE // 2

            assert await wait_until(halfway, 30, poll_s=0.02)
            await proxy.cut_now(blackout=0.3)

        async def delivered() -> bool:
            return {d.envelope.id for d in await tb.inbox(COMMUNE_B)} == set(docs)

        assert await wait_until(delivered, 60)
        patched, chained = counts.get("patch", 0) - patches, counts.get("chain", 0) - chains
        opened = proxy.stats.connections - before
        assert gw.client.hub.upload_chain
        if not cuts:  # every blob once: the first of the request, or after a chain frame
            assert (patched, chained) == (1, DOCS - 1)
        else:  # the request cut, the one that goes on after it (and a spare for a race)
            assert patched <= 3 and patched + chained <= DOCS + 2, (patched, chained)
        # The sync that carried the envelopes beside the long-poll, and one per cut.
        assert opened <= cuts + 2, f"{opened} connections for {cuts} cut(s)"
        assert proxy.stats.cuts == cuts
        await assert_delivered_exactly_once(
            tb, {COMMUNE_B: set(docs)},
            {d: digest(f) for d, f in zip(docs, files, strict=True)}, tmp_path / "out")
    finally:
        await tb.stop()
