"""One blob, one appending request at a time (gateway/hub/upload_session.py ``hold``/``release``),
including the moment a released lock has been handed to a waiter that has not run yet."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from gateway.hub import upload_session
from gateway.hub.state import UploadSlot
from gateway.hub.upload_session import hold, release

SHA = "ab" * 32


class Conn(asyncio.Transport):
    """A request's connection; only whether it was evicted matters here."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


async def test_a_third_request_waits_while_the_lock_is_being_handed_over() -> None:
    uploads: dict[str, UploadSlot] = {}
    first, second, third = Conn(), Conn(), Conn()
    slot = await hold(uploads, SHA, first)
    waiting = asyncio.create_task(hold(uploads, SHA, second))
    await asyncio.sleep(0)
    assert first.aborted  # the reconnected gateway evicts its own half-dead request
    release(uploads, SHA, slot)  # handed to `waiting`, which has not run yet
    late = asyncio.create_task(hold(uploads, SHA, third))
    await asyncio.sleep(0.01)
    assert waiting.done() and not late.done()  # before the fix: both held the blob
    release(uploads, SHA, waiting.result())
    held = await asyncio.wait_for(late, 1)
    assert held is waiting.result() and uploads[SHA] is held
    release(uploads, SHA, held)
    assert uploads == {}


async def test_a_request_that_gives_up_waiting_leaves_no_slot_behind(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_session, "EVICT_WAIT_S", 0.01)
    uploads: dict[str, UploadSlot] = {}
    slot = await hold(uploads, SHA, None)  # a holder without a connection cannot be evicted
    with pytest.raises(web.HTTPConflict):
        await hold(uploads, SHA, Conn())
    assert uploads[SHA] is slot and slot.users == 1
    release(uploads, SHA, slot)
    assert uploads == {}
