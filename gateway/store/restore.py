"""A replacement box's archive, rebuilt from what the hub gave back (``gateway init --restore``).

Received documents are stored with the clerk's last status as the hub knew it, and queued as
inbound entries too, so the daemon fetches their attachments exactly as for a new arrival
(its ack is harmless: the old box acknowledged them already). Sent documents are stored with
each recipient's delivery state replayed from their receipts, and their attachments are put
on the re-fetch list. Nothing is sent to the hub again: no envelope, no status. A document the
box already holds is left as it is, so running the restore twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.model import Envelope, Event, IllegalTransition, State, apply
from gateway.model.delivery import STATUS_EVENTS, Delivery
from gateway.model.envelope_codec import envelope_to_dict
from gateway.store import kv
from gateway.store.db import Conn
from gateway.store.local import LocalStore, add_event, insert_document

_RECEIPT_EVENTS = {"at_hub": Event.HUB_ACCEPTED, "delivered": Event.DELIVERED,
                   **{code: e for code, e in STATUS_EVENTS.items() if e is not Event.RECALL_13}}
_INBOX_STATES = frozenset(s.value for s in State if s.value.isdigit())


@dataclass(frozen=True)
class Received:
    seq: int
    env: Envelope
    routed_ms: int
    status: str  # the commune's last status at the hub ("" if none)


@dataclass(frozen=True)
class Sent:
    env: Envelope
    accepted_ms: int
    receipts: tuple[tuple[str, str, int, str], ...]  # (recipient, event, at_ms, note)


async def _exists(conn: Conn, doc_id: str) -> bool:
    row = await (await conn.execute("SELECT 1 FROM documents WHERE id = ?",
                                    (doc_id,))).fetchone()
    return row is not None


async def restore_received(store: LocalStore, items: Sequence[Received]) -> int:
    """Stores received documents not held yet; returns how many were new."""
    now = store.clock()

    async def tx(conn: Conn) -> int:
        new = 0
        for r in items:
            if await _exists(conn, r.env.id):
                continue
            await insert_document(conn, r.env, "in", r.routed_ms)
            status = r.status if r.status in _INBOX_STATES else State.RECEIVED.value
            # A document its clerk had already answered was read then.
            await conn.execute(
                "UPDATE documents SET inbox_status = ?, opened_ms = ? WHERE id = ?",
                (status, None if status == State.RECEIVED.value else r.routed_ms, r.env.id))
            await add_event(conn, r.env.id, now, "hub", "restored", status)
            if any(not store.blobs.has(a.sha256) for a in r.env.attachments):
                await conn.execute(
                    "INSERT OR IGNORE INTO inbound_pending(seq, doc_id, urgency, envelope,"
                    " first_seen_ms) VALUES (?,?,?,?,?)",
                    (r.seq, r.env.id, int(r.env.urgency),
                     json.dumps(envelope_to_dict(r.env), ensure_ascii=False), now))
            new += 1
        return new

    return await store.db.write(tx)


def _replay(receipts: Sequence[tuple[str, str, int, str]], recipient: str) -> tuple[State, int]:
    """The delivery state the receipts lead to, from a document the hub accepted."""
    delivery = apply(Delivery(State.QUEUED), Event.UPLOAD_STARTED)
    at = 0
    for to, event, at_ms, _note in receipts:
        step = _RECEIPT_EVENTS.get(event)
        if to != recipient or step is None:
            continue
        try:
            delivery, at = apply(delivery, step), at_ms
        except IllegalTransition:
            continue  # out of order: progress never goes backwards
    return delivery.state, at


async def restore_sent(store: LocalStore, items: Sequence[Sent], rcursor: int) -> int:
    """Stores sent documents not held yet, their deliveries as the receipts say, their
    attachments to be fetched again; moves the receipt cursor to ``rcursor``."""
    now = store.clock()

    async def tx(conn: Conn) -> int:
        new = 0
        for s in items:
            if await _exists(conn, s.env.id):
                continue
            await insert_document(conn, s.env, "out", s.accepted_ms)
            states = {r: _replay(s.receipts, r) for r in s.env.recipients}
            await conn.executemany(
                "INSERT INTO deliveries(doc_id, recipient, state, updated_ms) VALUES (?,?,?,?)",
                [(s.env.id, r, st.value, at or s.accepted_ms) for r, (st, at) in states.items()])
            waiting = any(st in (State.UPLOADING, State.QUEUED) for st, _ in states.values())
            await conn.execute("INSERT INTO outbound(doc_id, state) VALUES (?, ?)",
                               (s.env.id, "accepted" if waiting else "done"))
            await add_event(conn, s.env.id, now, "hub", "restored",
                            f"{len(s.env.recipients)} recipients")
            await conn.executemany(
                "INSERT OR IGNORE INTO bad_blobs(sha256, state, since_ms, detail)"
                " VALUES (?, 'refetch', ?, 'restored from the hub')",
                [(a.sha256, now) for a in s.env.attachments if not store.blobs.has(a.sha256)])
            new += 1
        if rcursor > (await kv.get(conn, kv.RCURSOR) or 0):
            await kv.put(conn, kv.RCURSOR, rcursor)
        return new

    return await store.db.write(tx)
