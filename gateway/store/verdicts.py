"""Signature verdicts of the box's PDF blobs: one JSON text per blob digest.

The store keeps the verdict as text (``gateway.signing`` owns its form and decodes it with
limits); it only knows which PDF attachments have none yet, so the daemon can check them after
a download, after a crash, or after the trust roots changed.
"""

from __future__ import annotations

from gateway.store.db import Conn
from gateway.store.local import LocalStore

# Same rule as gateway.model.Attachment.is_pdf, in SQL.
IS_PDF = "(a.media_type = 'application/pdf' OR lower(a.name) LIKE '%.pdf')"
BATCH = 50


async def put(store: LocalStore, sha256: str, verdict_json: str, checked_ms: int) -> None:
    async def tx(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO verdicts(sha256, verdict, checked_ms) VALUES (?,?,?) ON CONFLICT"
            "(sha256) DO UPDATE SET verdict = excluded.verdict,"
            " checked_ms = excluded.checked_ms", (sha256, verdict_json, checked_ms))

    await store.db.write(tx)


async def of_document(store: LocalStore, doc_id: str) -> dict[str, str]:
    """sha256 → verdict JSON for the document's attachments that have one."""
    async def q(conn: Conn) -> dict[str, str]:
        rows = await conn.execute_fetchall(
            "SELECT v.sha256, v.verdict FROM attachments a JOIN verdicts v"
            " ON v.sha256 = a.sha256 WHERE a.doc_id = ?", (doc_id,))
        return {str(r[0]): str(r[1]) for r in rows}

    return await store.db.read(q)


async def unchecked(store: LocalStore, limit: int = BATCH) -> list[str]:
    """Digests of PDF attachments without a verdict, most urgent documents first."""
    async def q(conn: Conn) -> list[str]:
        rows = await conn.execute_fetchall(
            "SELECT a.sha256 FROM attachments a JOIN documents d ON d.id = a.doc_id"
            f" LEFT JOIN verdicts v ON v.sha256 = a.sha256 WHERE v.sha256 IS NULL AND {IS_PDF}"
            " GROUP BY a.sha256 ORDER BY max(d.urgency) DESC, min(d.created_ms) LIMIT ?",
            (limit,))
        return [str(r[0]) for r in rows]

    return await store.db.read(q)

