"""The box's side of a hub restore in SQL: the hub's epoch, what goes back in the queue, and
when a document offered again is settled (the rule itself is :mod:`gateway.model.reoffer`).

Each step is one transaction: the new epoch is remembered together with the documents and
statuses it queues again, so a kill between the two cannot remember the epoch and forget the
work (or the reverse: a kill before the commit makes the next reply do it all again).

A document offered again goes back to ``pending`` with a row in ``reoffered``; the hub accepts
it again, and :func:`settle` returns it to ``done`` once the hub's reply needs none of its
attachments (it holds them, or routed the document anew). Until then the usual rule that ends a
document's queue life when its deliveries are past ``at_hub`` does not apply to it
(:mod:`gateway.store.syncstate`), or its attachments would never be uploaded again. A need
for an attachment of a document counted done is *not* taken as a loss: a reply computed before
the blob's last frame arrived, or another document with the same attachment, asks for it too
(it was, in every benchmark run); a restore is told by the epoch alone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from gateway.model.delivery import State
from gateway.model.reoffer import WINDOW_MS, SentDoc, epoch_changed, offer_again
from gateway.protocol.wire import StatusMsg
from gateway.store import kv
from gateway.store.db import Conn
from gateway.store.local import LocalStore

REOFFERED = "reoffered"  # event kind: offered to the hub again after a restore


@dataclass(frozen=True)
class EpochSeen:
    """What a reply's epoch changed on this box."""

    before: str  # the epoch remembered until now ("" for none)
    after: str
    documents: int  # sent documents queued again
    statuses: int  # confirmed statuses queued again
    inbound: int  # documents on their way in, forgotten until the hub offers them again


async def remember_sent(conn: Conn, statuses: Sequence[StatusMsg], hub_ms: int) -> None:
    """Inside the transaction that applies a reply: the statuses it proved the hub holds are
    kept for the window (``hub_ms``: the reply's clock); older ones are forgotten."""
    await conn.executemany(
        "INSERT OR REPLACE INTO status_sent(sid, doc_id, code, note, at_ms, proved_ms)"
        " VALUES (?,?,?,?,?,?)", [(s.sid, s.doc, s.code, s.note, s.at_ms, hub_ms)
                                  for s in statuses])
    await conn.execute("DELETE FROM status_sent WHERE proved_ms < ?", (hub_ms - WINDOW_MS,))


async def remembered_epoch(store: LocalStore) -> str:
    return await store.db.read(lambda c: kv.get(c, kv.HUB_EPOCH)) or ""


async def note_epoch(store: LocalStore, epoch: str, now_hub_ms: int) -> EpochSeen:
    """Remembers ``epoch``; if it replaces another, queues again in the same transaction what
    the restored hub may have lost (``now_hub_ms``: the hub's clock in that reply)."""
    now = store.clock()

    async def tx(conn: Conn) -> EpochSeen:
        before = await kv.get(conn, kv.HUB_EPOCH) or ""
        if before == epoch:
            return EpochSeen(before, epoch, 0, 0, 0)
        await kv.put(conn, kv.HUB_EPOCH, epoch)
        if not epoch_changed(before, epoch):
            return EpochSeen(before, epoch, 0, 0, 0)
        rows = await conn.execute_fetchall(
            "SELECT o.doc_id, o.state, group_concat(d.state), max(d.updated_ms)"
            " FROM outbound o JOIN deliveries d ON d.doc_id = o.doc_id"
            " WHERE o.state IN ('accepted', 'done') GROUP BY o.doc_id")
        again = [str(r[0]) for r in rows if offer_again(
            SentDoc(str(r[1]), tuple(State(s) for s in str(r[2]).split(",")), int(r[3])),
            now_hub_ms)]
        await conn.executemany(
            "UPDATE outbound SET state = 'pending', attempts = 0, next_ms = 0,"
            " last_error = '' WHERE doc_id = ?", [(d,) for d in again])
        await conn.executemany("INSERT OR REPLACE INTO reoffered(doc_id, since_ms) VALUES (?,?)",
                               [(d, now) for d in again])
        await conn.executemany(
            "INSERT INTO events(doc_id, at_ms, actor, kind, detail) VALUES (?, ?, 'hub', ?, '')",
            [(d, now, REOFFERED) for d in again])
        cur = await conn.execute(
            "INSERT OR IGNORE INTO status_out(sid, doc_id, code, note, at_ms)"
            " SELECT sid, doc_id, code, note, at_ms FROM status_sent WHERE proved_ms >= ?",
            (now_hub_ms - WINDOW_MS,))
        statuses = max(cur.rowcount, 0)
        # Documents still downloading may be ones the restored hub lost (their sequence number
        # and attachment rights with them): the hub offers again every one it still has.
        cur = await conn.execute("DELETE FROM inbound_pending")
        return EpochSeen(before, epoch, len(again), statuses, max(cur.rowcount, 0))

    return await store.db.write(tx)


async def open_count(store: LocalStore) -> int:
    """Documents still being offered again."""
    rows = await store.db.read(lambda c: c.execute_fetchall("SELECT count(*) FROM reoffered"))
    return int(next(iter(rows))[0])


async def settle(store: LocalStore, needed: Collection[str], whole: bool) -> int:
    """Ends the offer of each document the hub accepted again and needs no attachment of
    (``needed``: the reply's blob needs; ``whole``: that list was not cut short), and of each
    the hub refused: one its recipients already hold goes back to ``done`` (its history says
    the hub refused it; "failed" would tell the clerk to send again what has arrived), one a
    recipient still waits for stays dead, for the clerk to see. Returns how many are open."""
    async def tx(conn: Conn) -> int:
        rows = await conn.execute_fetchall(
            "SELECT r.doc_id, coalesce(o.state, 'dead'),"
            " (SELECT group_concat(a.sha256) FROM attachments a WHERE a.doc_id = r.doc_id),"
            " (SELECT count(*) FROM deliveries d WHERE d.doc_id = r.doc_id"
            "  AND d.state IN ('queued', 'uploading', 'at_hub'))"
            " FROM reoffered r LEFT JOIN outbound o ON o.doc_id = r.doc_id")
        left = 0
        for doc_id, state, shas, waiting in (
                (str(r[0]), str(r[1]), str(r[2] or ""), int(r[3])) for r in rows):
            held = whole and not any(sha in needed for sha in shas.split(",") if sha)
            if (state == "accepted" and held) or (state == "dead" and not waiting):
                await conn.execute("UPDATE outbound SET state = 'done' WHERE doc_id = ?",
                                   (doc_id,))
            elif state in ("pending", "accepted"):
                left += 1
                continue
            await conn.execute("DELETE FROM reoffered WHERE doc_id = ?", (doc_id,))
        return left

    return await store.db.write(tx)


async def resend_statuses(store: LocalStore, doc_ids: Collection[str]) -> int:
    """The hub offers documents this box already holds (an ack it lost, or a document its
    sender offered again after a restore): the statuses this box sent on them go again, since
    the hub may have lost them too (it stores each status id once)."""
    if not doc_ids:
        return 0
    marks = ",".join("?" * len(doc_ids))
    sql = (f" FROM status_sent WHERE doc_id IN ({marks}) AND doc_id IN"
           " (SELECT id FROM documents WHERE direction = 'in')"
           " AND sid NOT IN (SELECT sid FROM status_out)")
    args = tuple(doc_ids)
    found = await store.db.read(lambda c: c.execute_fetchall("SELECT 1" + sql + " LIMIT 1",
                                                             args))
    if not list(found):  # the usual case: no write
        return 0

    async def tx(conn: Conn) -> int:
        cur = await conn.execute(
            "INSERT OR IGNORE INTO status_out(sid, doc_id, code, note, at_ms)"
            " SELECT sid, doc_id, code, note, at_ms" + sql, args)
        return max(cur.rowcount, 0)

    return await store.db.write(tx)
