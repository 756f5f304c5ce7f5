"""What a replacement box gets back from the hub: a commune's recent documents, both ways,
with what became of them; and what the box it replaced still had to send.

Reads only. A replacement asks in pages (``offset``) because a commune's month of documents
does not fit one reply. Received documents come with the commune's own last status (its
clerk's 03, 06 …) and their inbox number; sent ones with the receipts the hub made or carried
for them, for the box to replay through its delivery state machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database


@dataclass(frozen=True)
class ReceivedDoc:
    seq: int  # the hub's inbox number (already acknowledged by the old box)
    envelope: str  # JSON, as the hub stored it
    routed_ms: int
    status: str  # the commune's latest status for it ("" if none)
    status_ms: int


@dataclass(frozen=True)
class SentDoc:
    envelope: str
    accepted_ms: int
    receipts: tuple[tuple[str, str, int, str], ...]  # (recipient, event, at_ms, note), in order


@dataclass(frozen=True)
class ReplacedBox:
    agency: str
    replaced_ms: int
    last_seen_ms: int  # the old box's last heartbeat
    unsent: int  # documents its last heartbeat said were still queued
    dead: int  # of which dead-lettered


class RestoreRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def received(self, agency: str, since_ms: int, offset: int,
                       limit: int) -> list[ReceivedDoc]:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT i.seq, d.envelope, i.routed_ms, s.code, s.at_ms FROM inbox i"
            " JOIN documents d ON d.id = i.doc_id"
            " LEFT JOIN statuses s ON s.rowid = (SELECT s2.rowid FROM statuses s2"
            "  WHERE s2.doc_id = i.doc_id AND s2.agency = i.recipient"
            "  ORDER BY s2.at_ms DESC, s2.rowid DESC LIMIT 1)"
            " WHERE i.recipient = ? AND i.routed_ms >= ? AND i.acked_ms IS NOT NULL"
            " ORDER BY i.seq LIMIT ? OFFSET ?", (agency, since_ms, limit, offset)))
        return [ReceivedDoc(int(r[0]), str(r[1]), int(r[2]), str(r[3] or ""), int(r[4] or 0))
                for r in rows]

    async def sent(self, agency: str, since_ms: int, offset: int,
                   limit: int) -> list[SentDoc]:
        docs = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT id, envelope, accepted_ms FROM documents WHERE sender = ?"
            " AND accepted_ms >= ? AND complete_ms IS NOT NULL"
            " ORDER BY accepted_ms, id LIMIT ? OFFSET ?",
            (agency, since_ms, limit, offset)))
        ids = [str(r[0]) for r in docs]
        marks = ",".join("?" * len(ids))
        rows = await self.db.read(lambda c: c.execute_fetchall(
            f"SELECT doc_id, recipient, event, at_ms, note FROM receipts WHERE sender = ?"
            f" AND doc_id IN ({marks}) ORDER BY rseq", (agency, *ids))) if ids else []
        by_doc: dict[str, list[tuple[str, str, int, str]]] = {}
        for r in rows:
            by_doc.setdefault(str(r[0]), []).append((str(r[1]), str(r[2]), int(r[3]),
                                                     str(r[4])))
        return [SentDoc(str(r[1]), int(r[2]), tuple(by_doc.get(str(r[0]), ()))) for r in docs]

    async def receipt_cursor(self, agency: str) -> int:
        """The highest receipt number for ``agency``: where a new box's cursor starts."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT coalesce(max(rseq), 0) FROM receipts WHERE sender = ?", (agency,)))
        return int(next(iter(rows))[0])

    async def replaced(self, since_ms: int) -> dict[str, ReplacedBox]:
        """Boxes replaced since ``since_ms`` whose last heartbeat left documents unsent."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT agency, replaced_ms, last_seen_ms, unsent, dead FROM replaced_boxes"
            " WHERE replaced_ms >= ? AND unsent > 0", (since_ms,)))
        return {str(r[0]): ReplacedBox(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]))
                for r in rows}
