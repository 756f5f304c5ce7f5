"""The outbound queue's state in SQL: the queued documents a blob belongs to, and what a
failure did to each (attempts, when it may go again, the last error, the dead letter).

A document is *queued* while the hub has not accepted its envelope ('pending') or still needs
its blobs ('accepted'). The policy — order, backoff, the attempt limit — is
:mod:`gateway.queue.order`'s; this module only reads and writes the rows it decides on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from gateway.store.db import Conn
from gateway.store.local import LocalStore, add_event

MAX_ERROR = 300  # characters of a failure's reason kept for the clerk


@dataclass(frozen=True)
class QueuedDoc:
    """One queued document that uses a blob (a document with two such blobs has two)."""

    doc_id: str
    sha256: str
    urgency: int
    created_ms: int
    attempts: int
    next_ms: int


@dataclass(frozen=True)
class Failed:
    """A document's queue state after a failure: ``attempts`` is the new count."""

    doc_id: str
    attempts: int
    next_ms: int
    dead: bool
    reason: str
    code: str = ""  # the event-log kind of a dead letter


async def blob_documents(store: LocalStore, digests: Collection[str]) -> list[QueuedDoc]:
    """The queued documents that use any of ``digests``."""
    if not digests:
        return []
    marks = ",".join("?" * len(digests))
    rows = await store.db.read(lambda c: c.execute_fetchall(
        "SELECT DISTINCT o.doc_id, a.sha256, d.urgency, d.created_ms, o.attempts, o.next_ms"
        " FROM attachments a JOIN outbound o ON o.doc_id = a.doc_id"
        " JOIN documents d ON d.id = o.doc_id"
        f" WHERE a.sha256 IN ({marks}) AND o.state IN ('pending', 'accepted')",
        tuple(digests)))
    return [QueuedDoc(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
            for r in rows]


async def record_failures(store: LocalStore, failed: Sequence[Failed]) -> list[str]:
    """Writes each document's new attempts, retry time and reason, or its dead letter with an
    event; a document retried or finished meanwhile is left alone. Returns the dead ids."""
    now = store.clock()

    async def tx(conn: Conn) -> list[str]:
        dead: list[str] = []
        for f in failed:
            reason = f.reason[:MAX_ERROR]
            cur = await conn.execute(
                "UPDATE outbound SET attempts = ?, next_ms = ?, last_error = ?,"
                " state = CASE WHEN ? THEN 'dead' ELSE state END"
                " WHERE doc_id = ? AND attempts = ? AND state IN ('pending', 'accepted')",
                (f.attempts, f.next_ms, reason, f.dead, f.doc_id, f.attempts - 1))
            if f.dead and cur.rowcount:
                dead.append(f.doc_id)
                await add_event(conn, f.doc_id, now, await _sender(conn, f.doc_id), f.code,
                                reason)
        return dead

    return await store.db.write(tx)


async def clear_failures(store: LocalStore, doc_ids: Collection[str]) -> None:
    """Forgets the failures of documents whose blob went through."""
    if not doc_ids:
        return
    marks = ",".join("?" * len(doc_ids))
    await store.db.write(lambda c: c.execute(
        f"UPDATE outbound SET attempts = 0, next_ms = 0, last_error = ''"
        f" WHERE doc_id IN ({marks}) AND state IN ('pending', 'accepted')", tuple(doc_ids)))


async def _sender(conn: Conn, doc_id: str) -> str:
    row = await (await conn.execute("SELECT sender FROM documents WHERE id = ?",
                                    (doc_id,))).fetchone()
    return str(row[0]) if row else ""
