"""The box's sync bookkeeping: what to send the hub, and applying what came back.

Each reply is applied in one transaction, acks and statuses are forgotten only once a reply
proved the hub has them, and inbound documents are committed before they are acked: so a cut
or a kill at any moment leads to a harmless resend, never to a loss or a duplicate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.edxml.mapping import K_ID, K_KIND, K_REASON, K_REF
from gateway.model import Envelope, Event, IllegalTransition, State, apply, envelope_from_dict, hold
from gateway.model.delivery import STATUS_EVENTS, Delivery
from gateway.model.envelope_codec import envelope_to_dict
from gateway.protocol.limits import MAX_ACKS, MAX_OUT, MAX_STATUSES
from gateway.protocol.wire import InboxItem, Receipt, StatusMsg, SyncReply
from gateway.store import kv
from gateway.store.db import Conn
from gateway.store.layout import load_config
from gateway.store.local import LocalStore, add_event, insert_document
from gateway.store.reoffer import remember_sent

REVOKE = "1"  # edXML BussinessDocType of a revoke, kept in the envelope's extra by the hub
AUTO_STATUS_NS = uuid.UUID("6f1c1d2e-6a57-4c1e-9a43-0d0c0a8e5a01")  # sid of the automatic 01
# A recall (13) is the sender's own action, recorded here; a receipt claiming one comes from
# a recipient and is ignored, so a peer cannot toggle 13/16 to grow this box's event log.
_RECEIPT_EVENTS = {"at_hub": Event.HUB_ACCEPTED, "delivered": Event.DELIVERED,
                   **{code: e for code, e in STATUS_EVENTS.items() if e is not Event.RECALL_13}}


def auto_status_id(doc_id: str, recipient: str) -> str:
    """The automatic 'Đã đến' (01) has one id per (document, recipient): a resend after a
    crash is deduplicated by the hub, while two recipients' receipts stay two receipts."""
    return str(uuid.uuid5(AUTO_STATUS_NS, f"{doc_id}\n{recipient}"))


@dataclass(frozen=True)
class Outgoing:
    """What one sync request carries; handed back to :meth:`SyncState.apply_reply`, it says
    which acks and statuses the reply proves the hub now holds."""

    envelopes: tuple[Envelope, ...]
    acks: tuple[int, ...]
    statuses: tuple[StatusMsg, ...]
    rcursor: int
    held_until_ms: int | None = None  # when the first status held back for undo may leave


class SyncState:
    """The sync engine's door to the store: the outbound queue, acks, statuses to send,
    inbound documents waiting for their blobs, and the sync marks in ``kv``."""

    def __init__(self, store: LocalStore, agency: str | None = None) -> None:
        self.store = store
        self._agency = agency

    @property
    def agency(self) -> str:
        """This box's own agency code (from its config unless given)."""
        if self._agency is None:
            self._agency = load_config(self.store.layout).agency
        return self._agency

    async def outgoing(self, now_ms: int) -> Outgoing:
        async def q(conn: Conn) -> Outgoing:
            envs = await conn.execute_fetchall(
                "SELECT d.envelope FROM outbound o JOIN documents d ON d.id = o.doc_id"
                " WHERE o.state = 'pending' AND o.next_ms <= ?"
                " ORDER BY d.urgency DESC, d.created_ms, d.id LIMIT ?", (now_ms, MAX_OUT))
            acks = await conn.execute_fetchall("SELECT seq FROM acks ORDER BY seq LIMIT ?",
                                               (MAX_ACKS,))
            statuses = await conn.execute_fetchall(  # a clerk's fresh status may be undone
                "SELECT sid, doc_id, code, note, at_ms FROM status_out WHERE code = ?"
                " OR at_ms <= ? OR at_ms > ? ORDER BY at_ms LIMIT ?",
                (hold.AUTOMATIC, now_ms - hold.HOLD_MS, now_ms + hold.FUTURE_MS, MAX_STATUSES))
            held = await conn.execute_fetchall(
                "SELECT min(at_ms) FROM status_out WHERE code != ? AND at_ms > ? AND at_ms <= ?",
                (hold.AUTOMATIC, now_ms - hold.HOLD_MS, now_ms + hold.FUTURE_MS))
            first_held = next(iter(held))[0]
            return Outgoing(
                tuple(envelope_from_dict(json.loads(str(r[0]))) for r in envs),
                tuple(int(r[0]) for r in acks),
                tuple(StatusMsg(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]))
                      for r in statuses),
                await kv.get(conn, kv.RCURSOR) or 0,
                None if first_held is None else int(first_held) + hold.HOLD_MS,
            )

        return await self.store.db.read(q)

    async def apply_reply(self, sent: Outgoing, reply: SyncReply, clock_ms: int) -> int:
        """Commits everything a reply says; returns how many inbox entries need an answer
        (new ones, and ones stored before whose ack was lost)."""
        now = self.store.clock()

        async def tx(conn: Conn) -> int:
            await conn.executemany("DELETE FROM acks WHERE seq = ?", [(s,) for s in sent.acks])
            await conn.executemany("DELETE FROM status_out WHERE sid = ?",
                                   [(s.sid,) for s in sent.statuses])
            await remember_sent(conn, sent.statuses, reply.time_ms)  # for a hub restore
            for doc_id in reply.accepted:
                await _accepted(conn, doc_id, now)
            for refusal in reply.refused:
                cur = await conn.execute(
                    "UPDATE outbound SET state = 'dead', last_error = ?, attempts = attempts + 1"
                    " WHERE doc_id = ? AND state = 'pending'", (refusal.reason[:300], refusal.doc))
                if cur.rowcount:
                    await add_event(conn, refusal.doc, now, "hub", "refused", refusal.reason)
            await _receipts(conn, reply.receipts)
            fresh = await _inbox(conn, reply.inbox, now)
            await kv.put(conn, kv.LAST_SYNC_MS, now)
            await kv.forget(conn, kv.LAST_ERROR, kv.LAST_ERROR_MS, kv.LINK_REASON, kv.NEXT_TRY_MS)
            await kv.put(conn, kv.HUB_TIME_MS, reply.time_ms)
            await kv.put(conn, kv.SKEW_MS, reply.time_ms - clock_ms)
            return fresh

        return await self.store.db.write(tx)

    async def inbound_todo(self) -> list[tuple[int, Envelope]]:
        rows = await self.store.db.read(lambda c: c.execute_fetchall(
            "SELECT seq, envelope FROM inbound_pending ORDER BY urgency DESC, seq"))
        return [(int(r[0]), envelope_from_dict(json.loads(str(r[1])))) for r in rows]

    async def store_inbound(self, seq: int, env: Envelope) -> None:
        """Commits a received document whose blobs are all verified, then queues its ack and
        the automatic 'Đã đến' (01) status for the sender."""
        now = self.store.clock()
        sid = auto_status_id(env.id, self.agency)

        async def tx(conn: Conn) -> None:
            exists = await (await conn.execute(
                "SELECT 1 FROM documents WHERE id = ?", (env.id,))).fetchone()
            if exists is None:
                await insert_document(conn, env, "in", now)
                await add_event(conn, env.id, now, "hub", "received")
                if env.extra.get(K_KIND) == REVOKE:
                    await _revoke(conn, env, now)
                await conn.execute(
                    "INSERT OR IGNORE INTO status_out(sid, doc_id, code, note, at_ms)"
                    " VALUES (?,?,?,?,?)", (sid, env.id, "01", "", now))
            await conn.execute("DELETE FROM inbound_pending WHERE seq = ?", (seq,))
            await conn.execute("INSERT OR IGNORE INTO acks(seq) VALUES (?)", (seq,))

        await self.store.db.write(tx)

    async def record_failure(self, reason: str, kind: str, next_try_ms: int, *,
                             began: bool, changed: bool) -> None:
        """Keeps the link problem where `gateway status` and the TUI show it: when it
        ``began`` (the first failure of an outage), its reason when it ``changed``, and
        always when the daemon tries again; one small write per attempt, as the SD card
        wears and backoff spaces the attempts."""
        now = self.store.clock()

        async def tx(conn: Conn) -> None:
            if began:
                await kv.put(conn, kv.LAST_ERROR_MS, now)
            if began or changed:
                await kv.put(conn, kv.LAST_ERROR, reason[:300])
                await kv.put(conn, kv.LINK_REASON, kind)
            await kv.put(conn, kv.NEXT_TRY_MS, next_try_ms)

        await self.store.db.write(tx)

    async def set_disk_short(self, needed: int) -> None:
        """Keeps how many bytes downloads wait for (0: none) where `gateway status` shows it;
        written on change only, as the SD card wears."""
        async def tx(conn: Conn) -> None:
            if needed:
                await kv.put(conn, kv.DISK_SHORT_BYTES, needed)
            else:
                await kv.forget(conn, kv.DISK_SHORT_BYTES)

        await self.store.db.write(tx)


async def _revoke(conn: Conn, notice: Envelope, now: int) -> None:
    """An edXML revoke (BussinessDocType 1) names the document it takes back by its edXML
    DocumentId: that earlier inbound document of the same sender shows as recalled (13)."""
    ref = notice.extra.get(K_REF) or notice.extra.get(K_ID) or ""
    rows = await conn.execute_fetchall(
        "SELECT id FROM documents WHERE direction = 'in' AND sender = ? AND id != ?"
        " AND json_extract(envelope, ?) = ? AND coalesce(json_extract(envelope, ?), '0') != ?",
        (notice.sender, notice.id, f'$.extra."{K_ID}"', ref, f'$.extra."{K_KIND}"', REVOKE))
    for r in rows:
        await conn.execute("UPDATE documents SET inbox_status = ? WHERE id = ?",
                           (State.RECALLED.value, str(r[0])))
        await add_event(conn, str(r[0]), now, notice.sender, "13",
                        notice.extra.get(K_REASON, "")[:500])


async def _accepted(conn: Conn, doc_id: str, now: int) -> None:
    cur = await conn.execute(
        "UPDATE outbound SET state = 'accepted', last_error = '' WHERE doc_id = ?"
        " AND state = 'pending'", (doc_id,))
    if cur.rowcount:
        await _advance(conn, doc_id, None, Event.UPLOAD_STARTED, now)
        await add_event(conn, doc_id, now, "hub", "accepted")


async def _advance(conn: Conn, doc_id: str, recipient: str | None, event: Event,
                   at_ms: int) -> bool:
    sql = "SELECT recipient, state, recall_pending FROM deliveries WHERE doc_id = ?"
    args: Sequence[str] = (doc_id,)
    if recipient is not None:
        sql += " AND recipient = ?"
        args = (doc_id, recipient)
    changed = False
    for r in await conn.execute_fetchall(sql, args):
        current = Delivery(State(str(r[1])), bool(r[2]))
        try:
            new = apply(current, event)
        except IllegalTransition:
            continue  # a late or out-of-order receipt: progress never goes backwards
        if new != current:
            changed = True
            await conn.execute(
                "UPDATE deliveries SET state = ?, recall_pending = ?, updated_ms = ?"
                " WHERE doc_id = ? AND recipient = ?",
                (new.state.value, int(new.recall_pending), at_ms, doc_id, str(r[0])))
    return changed


async def _receipts(conn: Conn, receipts: Iterable[Receipt]) -> None:
    cursor = await kv.get(conn, kv.RCURSOR) or 0
    for r in receipts:
        if r.rseq <= cursor:
            continue
        event = _RECEIPT_EVENTS.get(r.event)
        if event is not None and await _advance(conn, r.doc, r.to, event, r.at_ms):
            await add_event(conn, r.doc, r.at_ms, r.to, r.event, r.note)
        cursor = r.rseq
    await kv.put(conn, kv.RCURSOR, cursor)
    await conn.execute(
        "UPDATE outbound SET state = 'done' WHERE state = 'accepted' AND NOT EXISTS ("
        " SELECT 1 FROM deliveries d WHERE d.doc_id = outbound.doc_id"
        " AND d.state IN ('queued', 'uploading'))"
        " AND doc_id NOT IN (SELECT doc_id FROM reoffered)")  # settled by store/reoffer.py


async def _inbox(conn: Conn, items: Iterable[InboxItem], now: int) -> int:
    fresh = 0
    for item in items:
        stored = await (await conn.execute(
            "SELECT 1 FROM documents WHERE id = ?", (item.env.id,))).fetchone()
        if stored is not None:  # arrived before; the ack was lost: only ack again
            cur = await conn.execute("INSERT OR IGNORE INTO acks(seq) VALUES (?)", (item.seq,))
            fresh += cur.rowcount
            continue
        cur = await conn.execute(
            "INSERT OR IGNORE INTO inbound_pending(seq, doc_id, urgency, envelope, first_seen_ms)"
            " VALUES (?,?,?,?,?)", (item.seq, item.env.id, int(item.env.urgency),
                                    json.dumps(envelope_to_dict(item.env), ensure_ascii=False),
                                    now))
        fresh += cur.rowcount
    return fresh
