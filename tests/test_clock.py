"""No real-time clock on the box: skew is measured against the hub and used, never trusted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.hub.fleet import fleet
from gateway.hub.runtime import wall_ms
from gateway.linkemu import PROFILES
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B, run_gateway

DAY_MS = 86_400_000


async def test_skew_is_measured_reported_and_used_for_dates(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "p", PROFILES["lan"], wait_s=1,
                 hub_clock=lambda: wall_ms() + 3 * DAY_MS)
    await tb.start((COMMUNE_A, COMMUNE_B))
    try:
        store = tb.gateway(COMMUNE_A).store

        async def synced() -> bool:
            return await store.hub_skew_ms() > 2 * DAY_MS

        assert await wait_until(synced, 20)
        assert tb.hub is not None
        entry = next(e for e in await fleet(tb.hub.state) if e.agency == COMMUNE_A)
        assert "clock skew" in entry.problems and entry.skew_ms > 2 * DAY_MS
        status = run_gateway("status", "--data", str(tb.nodes[COMMUNE_A].data))
        assert "Đồng hồ của máy lệch +4320 phút" in status.stdout
        pdf = tmp_path / "a.pdf"
        pdf.write_bytes(b"%PDF-1.7 x")
        doc_id = await tb.send(COMMUNE_A, [COMMUNE_B], [pdf])
        doc = await store.document(doc_id)
        hub_today = (datetime.now(UTC) + timedelta(days=3, hours=7)).date()
        assert doc.envelope.issue_date == hub_today
    finally:
        await tb.stop()
