"""A hub whose disk is nearly full takes nothing new, loses nothing, and recovers by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.linkemu import PROFILES
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B


async def test_low_disk_at_hub_holds_documents_until_space_returns(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "p", PROFILES["lan"], wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B))
    try:
        assert tb.hub is not None
        tb.hub.state.reserve_bytes = 2**62  # "the disk is full"
        pdf = tmp_path / "bao-cao.pdf"
        pdf.write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 400)
        doc_id = await tb.send(COMMUNE_A, [COMMUNE_B], [pdf])
        await asyncio.sleep(3)
        doc = await tb.gateway(COMMUNE_A).store.document(doc_id)
        assert doc.queue_state == "pending" and doc.last_error == ""  # kept, not dead
        assert await tb.inbox(COMMUNE_B) == []
        tb.hub.state.reserve_bytes = 0  # space freed: it goes on its own
        tb.gateway(COMMUNE_A).client.wake()

        async def arrived() -> bool:
            return [d.envelope.id for d in await tb.inbox(COMMUNE_B)] == [doc_id]

        assert await wait_until(arrived, 20)
    finally:
        await tb.stop()
