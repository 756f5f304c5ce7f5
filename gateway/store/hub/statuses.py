"""The statuses the hub stored, and the receipts that carry them (and routing) to senders.

A status becomes a receipt on the sender's box, so storing one is a write into someone else's
database: each is stored once per ``(agency, sid)`` and at most ``per_document`` times per
document and agency, for ever. Who may send which code is the hub's policy
(:mod:`gateway.hub.status_policy`); it comes in as a ``judge`` called inside the transaction,
so the parties it judges are the ones the status is stored against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.protocol.wire import StatusMsg
from gateway.store.db import Conn, Database

# The refusal reasons this module decides (metric label values, like the hub's own reasons).
NOT_A_PARTY = "status_not_a_party"  # the document is unknown (the hub also uses it for others')
DOC_LIMIT = "status_document_limit"


@dataclass(frozen=True)
class DocParties:
    """Who a status's document concerns, as seen by the agency that sends the status."""

    sender: str
    addressed: bool  # the status's agency is one of the document's recipients


@dataclass(frozen=True)
class StatusOutcome:
    touched: frozenset[str]  # senders whose receipts changed
    refused: tuple[str, ...]  # one reason per refused item
    stored: int = 0  # new statuses (replays are neither stored nor refused)


# The hub's verdict on one status about a known document: a refusal reason, or None to store.
Judge = Callable[[StatusMsg, DocParties], str | None]


class StatusLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, agency: str, items: Sequence[StatusMsg], now: int, judge: Judge,
                     per_document: int) -> StatusOutcome:
        """Stores each status ``judge`` allows, once, and makes its receipt for the sender."""
        if not items:
            return StatusOutcome(frozenset(), ())

        async def tx(conn: Conn) -> StatusOutcome:
            touched: set[str] = set()
            refused: list[str] = []
            stored = 0
            for s in items:
                parties = await _parties(conn, agency, s.doc)
                if parties is None:
                    refused.append(NOT_A_PARTY)
                    continue
                reason = judge(s, parties)
                if reason is not None:
                    refused.append(reason)
                    continue
                seen = await (await conn.execute(
                    "SELECT 1 FROM statuses WHERE agency = ? AND sid = ?",
                    (agency, s.sid))).fetchone()
                if seen is not None:
                    continue  # a replay after a lost reply: already stored, nothing to say
                count = await (await conn.execute(
                    "SELECT count(*) FROM statuses WHERE doc_id = ? AND agency = ?",
                    (s.doc, agency))).fetchone()
                if count is not None and int(count[0]) >= per_document:
                    refused.append(DOC_LIMIT)
                    continue
                await conn.execute(
                    "INSERT INTO statuses(agency, sid, doc_id, code, at_ms) VALUES (?,?,?,?,?)",
                    (agency, s.sid, s.doc, s.code, now))
                await add_receipt(conn, parties.sender, s.doc, agency, s.code, now, s.note)
                touched.add(parties.sender)
                stored += 1
            return StatusOutcome(frozenset(touched), tuple(refused), stored)

        return await self.db.write(tx)


async def _parties(conn: Conn, agency: str, doc_id: str) -> DocParties | None:
    row = await (await conn.execute(
        "SELECT d.sender, EXISTS(SELECT 1 FROM inbox i WHERE i.doc_id = d.id"
        " AND i.recipient = ?) FROM documents d WHERE d.id = ?", (agency, doc_id))).fetchone()
    return None if row is None else DocParties(str(row[0]), bool(row[1]))


async def add_receipt(conn: Conn, sender: str, doc_id: str, recipient: str, event: str,
                      at_ms: int, note: str = "") -> None:
    """Queues a receipt for ``sender``'s box; its ``rseq`` is the box's cursor."""
    await conn.execute(
        "INSERT INTO receipts(sender, doc_id, recipient, event, at_ms, note)"
        " VALUES (?,?,?,?,?,?)", (sender, doc_id, recipient, event, at_ms, note))
