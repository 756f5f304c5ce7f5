"""The hub's side of the national axis: its agencies, what was pulled and pushed, and the edXML
DocumentId of every document exchanged, so statuses and revokes find their document.

Every record is a dedupe key written in the same transaction as its effect, so a crash between
the axis and the hub's database at worst repeats a harmless call (the axis and our pushes are
idempotent by key; ``gateway.axis.loop``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.model import Envelope, envelope_from_dict
from gateway.store.db import Conn, Database
from gateway.store.hub.statuses import add_receipt

STATUS_CURSOR = "axis.status_cursor"
# The statuses a recipient box reports that go out as edXML status packages.
RECIPIENT_STATUSES = ("01", "02", "03", "04", "05", "06", "15", "16")


@dataclass(frozen=True)
class ToPush:
    """A routed document with recipients reached only through the axis."""

    envelope: Envelope
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class StatusToPush:
    """A commune's status on a document that came from the axis."""

    rseq: int
    envelope: Envelope  # the axis-origin document
    document_id: str  # its edXML DocumentId
    agency: str  # the commune that reported
    code: str
    note: str


class AxisRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace_agencies(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """The axis's agency list (code, name, system), minus this hub's own, replaces the
        cached one as a whole."""
        async def tx(conn: Conn) -> None:
            await conn.execute("DELETE FROM axis_agencies")
            await conn.executemany(
                "INSERT OR REPLACE INTO axis_agencies(code, name, system) VALUES (?,?,?)",
                entries)

        await self.db.write(tx)

    async def agencies(self) -> list[tuple[str, str]]:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT code, name FROM axis_agencies ORDER BY code"))
        return [(str(r[0]), str(r[1])) for r in rows]

    async def pulled(self, key: str) -> bool:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT 1 FROM axis_pulled WHERE key = ?", (key,)))
        return bool(list(rows))

    async def note_pulled(self, key: str, axis_id: str, now: int) -> None:
        """A pulled package that files nothing (not for any agency of this hub)."""
        await self.db.write(lambda c: note_pulled(c, key, axis_id, None, now))

    async def pushed(self, key: str) -> str | None:
        rows = list(await self.db.read(lambda c: c.execute_fetchall(
            "SELECT axis_id FROM axis_pushed WHERE key = ?", (key,))))
        return str(rows[0][0]) if rows else None

    async def note_pushed(self, key: str, axis_id: str, now: int) -> None:
        await self.db.write(lambda c: c.execute(
            "INSERT OR IGNORE INTO axis_pushed(key, axis_id, at_ms) VALUES (?,?,?)",
            (key, axis_id, now)))

    async def to_push(self) -> list[ToPush]:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT d.envelope, group_concat(o.recipient, char(10)) FROM axis_out o"
            " JOIN documents d ON d.id = o.doc_id WHERE o.sent_ms IS NULL"
            " GROUP BY o.doc_id ORDER BY max(d.urgency) DESC, min(d.complete_ms)"))
        return [ToPush(envelope_from_dict(json.loads(str(r[0]))),
                       tuple(sorted(str(r[1]).split("\n")))) for r in rows]

    async def delivered(self, push: ToPush, document_id: str, event: str, now: int) -> None:
        """The axis took the package: each recipient's delivery moves on, and statuses coming
        back name the document by ``document_id``."""
        env = push.envelope

        async def tx(conn: Conn) -> None:
            for recipient in push.recipients:
                cur = await conn.execute(
                    "UPDATE axis_out SET sent_ms = ? WHERE doc_id = ? AND recipient = ?"
                    " AND sent_ms IS NULL", (now, env.id, recipient))
                if cur.rowcount:
                    await add_receipt(conn, env.sender, env.id, recipient, event, now)
            await conn.execute(
                "INSERT OR IGNORE INTO axis_docs(doc_id, document_id, direction)"
                " VALUES (?,?,'out')", (env.id, document_id))

        await self.db.write(tx)

    async def apply_status(self, key: str, axis_id: str, document_id: str, agency: str,
                           code: str, note: str, now: int) -> str | None:
        """A status package from the axis becomes a receipt for the commune that sent the
        document (returned); None when no document of ours has that DocumentId and
        recipient."""
        async def tx(conn: Conn) -> str | None:
            row = await (await conn.execute(
                "SELECT d.id, d.sender FROM axis_docs a JOIN documents d ON d.id = a.doc_id"
                " JOIN axis_out o ON o.doc_id = d.id AND o.recipient = ?"
                " WHERE a.document_id = ? AND a.direction = 'out' ORDER BY d.accepted_ms DESC",
                (agency, document_id))).fetchone()
            await note_pulled(conn, key, axis_id, str(row[0]) if row else None, now)
            if row is None:
                return None
            await add_receipt(conn, str(row[1]), str(row[0]), agency, code, now, note[:500])
            return str(row[1])

        return await self.db.write(tx)

    async def statuses_to_push(self, limit: int = 100) -> list[StatusToPush]:
        marks = ",".join("?" * len(RECIPIENT_STATUSES))

        async def q(conn: Conn) -> list[StatusToPush]:
            row = await (await conn.execute("SELECT value FROM kv WHERE key = ?",
                                            (STATUS_CURSOR,))).fetchone()
            after = int(row[0]) if row else 0
            rows = await conn.execute_fetchall(
                f"SELECT r.rseq, d.envelope, a.document_id, r.recipient, r.event, r.note"
                f" FROM receipts r JOIN axis_docs a ON a.doc_id = r.doc_id AND a.direction = 'in'"
                f" JOIN documents d ON d.id = r.doc_id WHERE r.rseq > ? AND r.event IN ({marks})"
                f" ORDER BY r.rseq LIMIT ?", (after, *RECIPIENT_STATUSES, limit))
            return [StatusToPush(int(r[0]), envelope_from_dict(json.loads(str(r[1]))),
                                 str(r[2]), str(r[3]), str(r[4]), str(r[5])) for r in rows]

        return await self.db.read(q)

    async def statuses_pushed(self, upto: int) -> None:
        await self.db.write(lambda c: c.execute(
            "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
            " SET value = excluded.value", (STATUS_CURSOR, str(upto))))


async def note_pulled(conn: Conn, key: str, axis_id: str, doc_id: str | None, now: int) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO axis_pulled(key, axis_id, doc_id, at_ms) VALUES (?,?,?,?)",
        (key, axis_id, doc_id, now))


async def is_national(conn: Conn, code: str) -> bool:
    """Whether ``code`` is reached through the axis (routing sends it there, not to an inbox)."""
    row = await (await conn.execute("SELECT 1 FROM axis_agencies WHERE code = ?",
                                    (code,))).fetchone()
    return row is not None
