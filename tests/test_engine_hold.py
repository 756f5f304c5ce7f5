"""A clerk's status is held on the box for the undo window (gateway.model.hold); the daemon
must send it when the hold ends, not at the end of a minute-long poll."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from gateway.model import hold
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import advancing, eventually, open_box
from tests.factories import attachment, envelope


async def test_a_held_status_leaves_when_its_hold_ends(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    payload = os.urandom(2000)
    env = envelope(COMMUNE_B, (COMMUNE_A,), attachments=(attachment("den.pdf", payload),),
                   now_ms=box.time.clock())
    box.hub.deliver(1, env, {hashlib.sha256(payload).hexdigest(): payload})
    box.start()
    try:
        async def settled() -> bool:  # stored, acked, its 01 sent
            pending = await box.store.db.read(
                lambda c: c.execute_fetchall("SELECT count(*) FROM status_out"))
            return 1 not in box.hub.inbox and next(iter(pending))[0] == 0

        await advancing(box, settled)
        assert box.client.wait_s == 60  # the daemon's idle long-poll

        async def polling() -> bool:
            return bool(box.time.pending())

        await eventually(polling)
        marked = box.time.clock()
        await box.store.mark(env.id, "03")
        box.client.wake()  # as `gateway mark` and the TUI do

        async def waiting() -> bool:
            rows = await box.store.db.read(
                lambda c: c.execute_fetchall("SELECT count(*) FROM status_out"))
            return int(next(iter(rows))[0]) == 1

        async def sent() -> bool:
            return not await waiting()

        async def step_to(at_ms: int) -> None:  # a second at a time, as real time passes
            while box.time.clock() < at_ms:
                box.time.advance(1.0)
                await asyncio.sleep(0.02)

        await step_to(marked + hold.HOLD_MS - 1000)
        assert await waiting(), "sent before its hold ended: the clerk could not undo it"
        await step_to(marked + hold.HOLD_MS + 2000)  # not at the end of the minute-long poll
        await eventually(sent, timeout_s=1.0)
    finally:
        await box.close()
