"""The hub's epoch and what a box does with it, piece by piece with real components: the hub
database makes it and a restore replaces it, the wire carries it only to boxes that ask, and a
box's real store and sync state offer again, then settle, exactly what the rule says."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgpack
import pytest

from gateway.hub.runtime import init_hub
from gateway.linkemu import PROFILES
from gateway.model import Directory
from gateway.model.reoffer import WINDOW_MS
from gateway.protocol.messages import NodeReport, SyncRequest
from gateway.protocol.wire import (
    EPOCH_HEADER,
    BlobNeed,
    HubConfig,
    InboxItem,
    Receipt,
    Refusal,
    SyncReply,
    WireError,
    decode_reply,
    encode_reply,
    encode_request,
)
from gateway.services import labels
from gateway.services.hub_backup import backup
from gateway.services.hub_restore import restore
from gateway.store.reoffer import REOFFERED
from gateway.sync.daemon import open_gateway
from gateway.sync.hub_epoch import HubEpoch
from gateway.sync.transport import HubClient
from gateway.testbed import Testbed
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import Box, open_box
from tests.factories import envelope

T = 1_800_000_000_000  # the hub's clock in the replies below


def _epoch(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return str(conn.execute("SELECT value FROM kv WHERE key = 'epoch'").fetchone()[0])


def reply(epoch: str = "", *, accepted: tuple[str, ...] = (), need: tuple[BlobNeed, ...] = (),
          receipts: tuple[Receipt, ...] = (), inbox: tuple[InboxItem, ...] = (),
          time_ms: int = T) -> SyncReply:
    return SyncReply(time_ms, accepted, (), need, inbox, receipts, HubConfig(2**20, 0), epoch)


# The hub ---------------------------------------------------------------------------------


async def test_init_makes_an_epoch_and_every_restore_replaces_it(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    init_hub(hub, "H35", Directory.sample(), ["127.0.0.1"])
    tb = Testbed(tmp_path, PROFILES["lan"])  # serves the hub folder made above
    await tb.start([])
    await tb.stop()
    first = _epoch(hub / "hub.sqlite3")
    assert len(first) == 32 and int(first, 16) >= 0
    taken = backup(hub, tmp_path / "backups")
    assert _epoch(taken.path / "hub.sqlite3") == first  # a backup is that history
    one = restore(taken.path, tmp_path / "r1")
    two = restore(taken.path, tmp_path / "r2")
    assert len({first, one.epoch, two.epoch}) == 3
    assert _epoch(tmp_path / "r1" / "hub.sqlite3") == one.epoch


async def test_the_hub_sends_its_epoch_only_to_a_box_that_asks(tmp_path: Path) -> None:
    tb = Testbed(tmp_path / "province", PROFILES["lan"])
    await tb.start([COMMUNE_A])
    await tb.stop_gateway(COMMUNE_A)
    node = tb.nodes[COMMUNE_A]
    box = await open_gateway(node.data, hub_url=tb.url(node))
    try:
        epoch = _epoch(tmp_path / "province" / "hub" / "hub.sqlite3")
        req = SyncRequest(NodeReport("test", 0, 0, 10**10, 0, 1), (), (), (), 0, 0)
        assert (await box.hub.sync(req)).epoch == epoch  # the box's transport asks
        link = box.hub
        assert isinstance(link, HubClient)
        for headers, has in (({}, False), ({EPOCH_HEADER: "1"}, True)):
            # an older box: no header, and it would refuse an unknown key in the reply
            async with link.session.post(
                    f"{link.base}/v1/sync", data=link.compressor.compress(encode_request(req), 0),
                    headers={"Content-Type": "application/x-gateway-sync", "X-Sync-Dict": "0",
                             **headers}) as resp:
                assert resp.status == 200
                raw = link.compressor.decompress(await resp.read(),
                                                 int(resp.headers["X-Sync-Dict"]))
            body = msgpack.unpackb(raw)
            assert ("epoch" in body) is has and body.get("epoch", epoch) == epoch
    finally:
        await box.close()
        await tb.stop()


# The wire --------------------------------------------------------------------------------


def test_the_reply_carries_an_epoch_or_none() -> None:
    plain = reply()
    assert b"epoch" not in encode_reply(plain)  # older bodies are unchanged
    assert decode_reply(encode_reply(plain)).epoch == ""
    assert decode_reply(encode_reply(reply("ab" * 16))).epoch == "ab" * 16
    body = msgpack.unpackb(encode_reply(plain))
    for bad in ("", "x" * 65, 7, None, "e1\nforged log line", "ép"):
        with pytest.raises(WireError, match="epoch"):
            decode_reply(msgpack.packb({**body, "epoch": bad}))


# The box ---------------------------------------------------------------------------------


async def _exchange(box: Box, rep: SyncReply) -> tuple[str, ...]:
    """One sync as the engine does it: what goes, the reply applied, then the epoch hook."""
    out = await box.client.syncstate.outgoing(box.time.clock())
    await box.client.syncstate.apply_reply(out, rep, box.time.clock())
    await box.client.hub_epoch.after_reply(rep)
    return tuple(e.id for e in out.envelopes)


async def _queue(box: Box) -> dict[str, str | None]:
    return {d.envelope.id: d.queue_state for d in await box.store.list_documents("out")}


async def test_a_box_offers_again_what_the_rule_says_then_settles(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    try:
        (d1, sha1), (d2, sha2), (d3, _) = [await box.send(2_000) for _ in range(3)]
        at_hub = Receipt(1, d1, COMMUNE_B, "at_hub", T, "")
        await _exchange(box, reply("e1", accepted=(d1, d2), receipts=(at_hub,),
                                   need=(BlobNeed(sha2, 0, 2_000, 0),)))
        assert await _queue(box) == {d1: "done", d2: "accepted", d3: "pending"}
        # an inbound document: its automatic 01 goes and is confirmed
        inbound = envelope(COMMUNE_B, (COMMUNE_A,), now_ms=T)
        await box.client.syncstate.store_inbound(7, inbound)
        await _exchange(box, reply())  # no epoch (an older hub): nothing to do with it
        assert (await box.store.counts())["statuses_unsent"] == 0
        assert REOFFERED not in {e.kind for e in await box.store.events(d1)}

        # The hub was restored: d1 (done) and d2 (accepted) go back in the queue, d3 was
        # pending anyway; the confirmed 01 is queued again; the clerk sees "Đang gửi lại".
        await _exchange(box, reply("e2", time_ms=T + 3_600_000))
        assert await _queue(box) == {d1: "pending", d2: "pending", d3: "pending"}
        assert REOFFERED in {e.kind for e in await box.store.events(d1)}
        assert (await box.store.counts())["statuses_unsent"] == 1
        doc1 = await box.store.document(d1)
        assert labels.summary_state(doc1, "vi").startswith("Đang gửi lại · Đã lên tỉnh")
        assert labels.summary_state(doc1, "en").startswith("Resending · At hub")

        # The daemon restarts here (power cut): what it knows comes from the database, so
        # the same epoch queues nothing twice and the open offers still settle below.
        box.client.hub_epoch = HubEpoch(box.store, box.client.wake)
        # All three are offered; the hub takes them, still needing d2's attachment.
        sent = await _exchange(box, reply("e2", accepted=(d1, d2, d3),
                                          need=(BlobNeed(sha2, 0, 2_000, 0),)))
        assert set(sent) == {d1, d2, d3}
        assert await _queue(box) == {d1: "done", d2: "accepted", d3: "accepted"}
        assert not labels.summary_state(await box.store.document(d1), "vi").startswith("Đang")
        # d2's attachment arrives: the hub routes it and needs nothing more.
        routed = Receipt(2, d2, COMMUNE_B, "at_hub", T + 3_700_000, "")
        await _exchange(box, reply("e2", receipts=(routed,)))
        assert (await _queue(box))[d2] == "done"
        assert await box.store.db.read(
            lambda c: c.execute_fetchall("SELECT * FROM reoffered")) == []

        # The hub offers again a document this box holds: its statuses go again.
        await _exchange(box, reply("e2"))  # the re-queued 01 leaves
        assert (await box.store.counts())["statuses_unsent"] == 0
        await _exchange(box, reply("e2", inbox=(InboxItem(8, inbound),)))
        assert (await box.store.counts())["statuses_unsent"] == 1

        # A need for an attachment of a finished document, without a new epoch, is a reply
        # older than its last frame (or another document's): the document stays finished.
        await _exchange(box, reply("e2", need=(BlobNeed(sha1, 0, 2_000, 0),)))
        assert (await _queue(box))[d1] == "done"

        # A restore seen long after the hub last confirmed anything: outside the window, the
        # finished documents stay finished; the old status is forgotten.
        later = T + 3_700_000 + WINDOW_MS + 1
        await _exchange(box, reply("e2", time_ms=later))  # sends the 01; forgets old ones
        await _exchange(box, reply("e3", time_ms=later + WINDOW_MS + 1))
        # d3's envelope is at the hub, its attachment never confirmed: offered again
        assert await _queue(box) == {d1: "done", d2: "done", d3: "pending"}
        assert (await box.store.counts())["statuses_unsent"] == 0
    finally:
        await box.close()


async def test_refused_offers_and_downloads_after_a_restore(tmp_path: Path) -> None:
    """The restored hub refuses two documents offered again: the one its recipient holds keeps
    its state, the one still waiting shows as failed. A download in progress is forgotten."""
    box = await open_box(tmp_path)
    try:
        (held, _), (waiting, _) = [await box.send(1_000) for _ in range(2)]
        await _exchange(box, reply("e1", accepted=(held, waiting), receipts=(
            Receipt(1, held, COMMUNE_B, "at_hub", T, ""),
            Receipt(2, waiting, COMMUNE_B, "at_hub", T, ""),
            Receipt(3, held, COMMUNE_B, "delivered", T, ""))))
        incoming = envelope(COMMUNE_B, (COMMUNE_A,), now_ms=T)
        await _exchange(box, reply("e1", inbox=(InboxItem(9, incoming),)))
        assert [seq for seq, _ in await box.client.syncstate.inbound_todo()] == [9]

        await _exchange(box, reply("e2"))
        assert await box.client.syncstate.inbound_todo() == []  # the hub offers it again
        gone = tuple(Refusal(d, "recipients.unknown", "gone") for d in (held, waiting))
        rep = SyncReply(T, (), gone, (), (), (), HubConfig(2**20, 0), "e2")
        await _exchange(box, rep)
        assert await _queue(box) == {held: "done", waiting: "dead"}
        assert "refused" in {e.kind for e in await box.store.events(held)}
        shown = labels.summary_state(await box.store.document(held), "vi")
        assert shown == "Đã chuyển tới nơi nhận"
        assert labels.summary_state(await box.store.document(waiting), "en").startswith("Failed")
        assert await box.store.db.read(
            lambda c: c.execute_fetchall("SELECT * FROM reoffered")) == []
    finally:
        await box.close()
