"""The box's kv scalars: typed keys, and the sync marks `gateway status` and the TUI read back
from what the sync bookkeeping committed (a real SQLite file, no hub)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.protocol.wire import HubConfig, Receipt, SyncReply
from gateway.store import kv
from gateway.store.db import Conn
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from gateway.store.status import change_signature, sync_marks
from gateway.store.syncstate import Outgoing, SyncState
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.factories import envelope

NOW_MS = 1_000_000


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    opened = await LocalStore.open(Layout(tmp_path / "gw"), lambda: NOW_MS)
    try:
        yield opened
    finally:
        await opened.close()


def reply(time_ms: int, *receipts: Receipt) -> SyncReply:
    return SyncReply(time_ms, (), (), (), (), receipts, HubConfig(2**20, 0))


async def test_keys_read_back_with_their_type(store: LocalStore) -> None:
    async def write(conn: Conn) -> None:
        await kv.put(conn, kv.RCURSOR, 7)
        await kv.put(conn, kv.LAST_ERROR, "12")  # digits, yet still a str

    await store.db.write(write)
    assert await store.db.read(lambda c: kv.get(c, kv.RCURSOR)) == 7
    assert await store.db.read(lambda c: kv.get(c, kv.LAST_ERROR)) == "12"
    assert await store.db.read(lambda c: kv.get(c, kv.SKEW_MS)) is None
    await store.db.write(lambda c: kv.forget(c, kv.RCURSOR, kv.LAST_ERROR))
    assert await store.db.read(lambda c: kv.get(c, kv.RCURSOR)) is None


async def test_sync_marks_follow_the_bookkeeping(store: LocalStore) -> None:
    state = SyncState(store, COMMUNE_A)
    assert (await sync_marks(store)).recorded() == {}
    assert await store.hub_skew_ms() == 0

    await state.record_failure("hub unreachable", "unreachable", NOW_MS + 4000,
                               began=True, changed=True)
    await state.set_disk_short(5 * 2**20)
    marks = await sync_marks(store)
    assert (marks.last_error, marks.last_error_ms) == ("hub unreachable", NOW_MS)
    assert (marks.link_reason, marks.next_try_ms) == ("unreachable", NOW_MS + 4000)
    await state.record_failure("hub unreachable", "unreachable", NOW_MS + 9000,
                               began=False, changed=False)
    marks = await sync_marks(store)  # a retry moves only the next try, not the outage start
    assert (marks.last_error_ms, marks.next_try_ms) == (NOW_MS, NOW_MS + 9000)
    assert marks.disk_short_bytes == 5 * 2**20 and marks.last_sync_ms is None

    await state.set_disk_short(0)
    await state.apply_reply(Outgoing((), (), (), 0),
                            reply(NOW_MS + 60_000, Receipt(9, "no-such-doc", COMMUNE_B, "01",
                                                           NOW_MS, "")), NOW_MS - 1)
    marks = await sync_marks(store)
    assert marks.recorded() == {"last_sync_ms": NOW_MS, "hub_time_ms": NOW_MS + 60_000,
                                "skew_ms": 60_001, "rcursor": 9}
    assert await store.hub_skew_ms() == 60_001
    assert (await state.outgoing(NOW_MS)).rcursor == 9  # the next sync asks from there


async def test_change_signature_moves_with_the_queue(store: LocalStore) -> None:
    before = await change_signature(store)
    assert before == await change_signature(store)
    await store.queue_document(envelope(recipients=(COMMUNE_B,)))
    assert await change_signature(store) != before
