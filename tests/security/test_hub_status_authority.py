"""Items 5 and 6 at the hub: who may send which status, and how many.

Item 5: a recipient sent 13 (recall) and then 15 for someone else's document and the
sender's record showed "Recalled". Item 6: a recipient toggled statuses with 500-character
notes, 256 per sync, and grew the sender's database by megabytes in seconds.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from functools import partial

import pytest
import pytest_asyncio

from gateway.hub.status_policy import StatusRate
from gateway.model.delivery import RECIPIENT_CODES, SENDER_CODES, Party, may_send
from gateway.protocol.limits import MAX_NOTE, MAX_STATUSES_PER_DOC
from gateway.protocol.wire import STATUS_CODES, StatusMsg
from tests.factories import envelope
from tests.security.hostile import A, B, Hub, Peer, neutral, refused, sync_request

pytestmark = pytest.mark.asyncio(loop_scope="module")
_SIDS = itertools.count(1)


def status(doc: str, code: str, note: str = "") -> StatusMsg:
    return StatusMsg(f"0190d3c2-6b1e-7c3a-9f00-{next(_SIDS):012x}", doc, code, note, 0)


async def routed(a: Peer, b: Peer) -> str:
    """A fresh document from A to B, routed (no attachment) and fetched by B."""
    env = envelope(A, (B,), attachments=())
    assert (await a.sync(out=(env,))).accepted == (env.id,)
    assert env.id in {i.env.id for i in (await b.sync()).inbox}
    return env.id


async def receipts_for(hub: Hub, doc: str) -> list[str]:
    rows = await hub.store.db.read(lambda c: c.execute_fetchall(
        "SELECT event FROM receipts WHERE doc_id = ? ORDER BY rseq", (doc,)))
    return [str(r[0]) for r in rows]


@pytest_asyncio.fixture(loop_scope="module")
async def doc(hub: Hub, a: Peer, b: Peer) -> AsyncIterator[str]:
    yield await routed(a, b)


async def test_item5_status_authority_follows_the_domain_table() -> None:
    assert SENDER_CODES | RECIPIENT_CODES == STATUS_CODES
    assert not SENDER_CODES & RECIPIENT_CODES
    assert [c for c in sorted(STATUS_CODES) if may_send(Party.SENDER, c)] == ["13"]
    assert [c for c in sorted(STATUS_CODES) if may_send(Party.RECIPIENT, c)] == [
        "01", "02", "03", "04", "05", "06", "15", "16"]
    assert not may_send(Party.RECIPIENT, "99") and not may_send(Party.SENDER, "")


async def test_item5_recipient_cannot_recall_the_senders_document(hub: Hub, b: Peer,
                                                                  doc: str) -> None:
    send = partial(b.sync_raw, sync_request(statuses=(status(doc, "13", "thu hồi"),)))
    await neutral(hub, "status.authority", send, heartbeat_of=B)
    # The forged recall's follow-up is only an answer with nothing to answer at the sender.
    reply = await b.sync(statuses=(status(doc, "15"),))
    assert reply.accepted == ()
    assert "13" not in await receipts_for(hub, doc)
    assert hub.running.state.refusals.get("status_code_forbidden", 0) >= 1


async def test_sender_cannot_report_for_its_recipient(hub: Hub, a: Peer,
                                                            doc: str) -> None:
    for code in ("01", "03", "06", "02", "15", "13"):
        send = partial(a.sync_raw, sync_request(statuses=(status(doc, code),)))
        await neutral(hub, "status.authority", send, heartbeat_of=A)


async def test_recipient_statuses_still_reach_the_sender(hub: Hub, b: Peer,
                                                               doc: str) -> None:
    await b.sync(statuses=tuple(status(doc, c) for c in ("01", "03", "04", "05", "06")))
    assert (await receipts_for(hub, doc))[-5:] == ["01", "03", "04", "05", "06"]


async def test_item6_statuses_per_document_are_capped(hub: Hub, b: Peer, doc: str) -> None:
    note = "đã xử lý " * (MAX_NOTE // 9)
    flood = tuple(status(doc, "16" if i % 2 else "05", note) for i in range(40))
    await b.sync(statuses=flood)
    stored = await hub.store.db.read(lambda c: c.execute_fetchall(
        "SELECT count(*) FROM statuses WHERE doc_id = ? AND agency = ?", (doc, B)))
    assert int(next(iter(stored))[0]) == MAX_STATUSES_PER_DOC
    assert len([e for e in await receipts_for(hub, doc) if e not in ("at_hub", "delivered")]
               ) == MAX_STATUSES_PER_DOC
    more = partial(b.sync_raw, sync_request(statuses=(status(doc, "05", note),)))
    await neutral(hub, "status.rate", more, heartbeat_of=B)


async def test_item6_statuses_per_peer_window_answer_429_and_lose_nothing(
        hub: Hub, b: Peer, doc: str) -> None:
    state = hub.running.state
    state.status_rate = StatusRate(limit=4)
    try:
        batch = tuple(status(doc, c) for c in ("01", "03", "04", "05", "06"))
        reply = await refused(hub, "status.rate", partial(b.sync_raw, sync_request(
            statuses=batch)), allowed={429})
        assert int(reply.headers["Retry-After"]) > 0
    finally:
        state.status_rate = StatusRate()
    await b.sync(statuses=batch)  # the box kept them and retries: all arrive
    assert (await receipts_for(hub, doc))[-5:] == ["01", "03", "04", "05", "06"]


async def test_item6_replays_do_not_spend_the_window(hub: Hub, b: Peer, doc: str) -> None:
    rate = hub.running.state.status_rate
    before = rate.windows.get(B, (0, 0))[1]
    first = status(doc, "01")
    for _ in range(5):
        await b.sync(statuses=(first,))
    assert rate.windows[B][1] == before + 1  # stored once; replays cost nothing
