"""The link state the daemon publishes, against a real hub that dies and comes back.

What a clerk sees (the TUI's link line, ``gateway status``) is read from the store, so the
test reads it the same way, with the same services, while a real daemon syncs over TLS.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.linkemu import PROFILES
from gateway.services.admin import status
from gateway.services.link import Link, link_head, link_view
from gateway.store.status import sync_marks
from gateway.sync.daemon import watch_wakeup
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A


async def test_hub_down_and_back_shows_within_two_seconds(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "province", PROFILES["lan"], wait_s=25)
    await tb.start([COMMUNE_A])
    gw = tb.gateway(COMMUNE_A)
    data = str(tb.nodes[COMMUNE_A].data)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_wakeup(gw.layout, gw.client, stop))

    async def state() -> Link:
        marks = await sync_marks(gw.store)
        return link_view(marks, True, int(time.time() * 1000)).state

    try:
        assert await wait_until(lambda: _is(state, Link.CONNECTED), 10)
        await asyncio.sleep(1)  # the daemon is in its 25 s long poll now

        await tb.stop_hub()
        assert await wait_until(lambda: _is(state, Link.RETRYING), 2.0), \
            "a dead hub must show within 2 s, not after the long poll"
        report = await status(data)
        line = link_head(report.link, report.now_ms, "vi")
        assert line.startswith("Mất kết nối với tỉnh từ ")
        assert "thử lại sau" in line or "đang thử lại" in line
        assert report.link.reason in ("dropped", "unreachable")
        assert report.report()["link"] == "retrying"

        # A refused connection is probed at a short fixed interval (gateway.sync.reconnect),
        # not after a growing backoff: the next try is always within a second.
        await asyncio.sleep(3)
        marks = await sync_marks(gw.store)
        assert (marks.next_try_ms or 0) - int(time.time() * 1000) < 1000
        since = (await sync_marks(gw.store)).last_error_ms
        await tb.restart_hub()
        started = time.monotonic()
        report = await status(data, try_now=True)  # wakes the daemon, as the TUI's key does
        assert report.link.state is Link.CONNECTED, link_head(report.link, report.now_ms, "en")
        assert time.monotonic() - started < 2.0
        assert (await sync_marks(gw.store)).last_error_ms is None
        assert since is not None
    finally:
        stop.set()
        await watcher
        await tb.stop()


async def _is(state: object, want: Link) -> bool:
    assert callable(state)
    return bool(await state() is want)
