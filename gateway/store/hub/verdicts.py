"""Signature verdicts of the PDF blobs the hub holds, and the "share digitally signed" counts.

The verdict is kept as text (``gateway.signing`` owns its form) with one fact pulled out of it,
``trusted`` (at least one valid signature chaining to the hub's roots), because that is what
the province's KPI counts. The store only knows which PDFs have no verdict yet, so the hub's
checker can find them after an upload, after a crash, or after an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Conn, Database

BATCH = 50


@dataclass(frozen=True)
class SignedCount:
    """One issuing agency: its routed documents, and those with a validly signed PDF."""

    agency: str
    issued: int
    signed: int


class SignatureRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, sha256: str, verdict_json: str, trusted: bool, checked_ms: int) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO signature_verdicts(sha256, verdict, trusted, checked_ms)"
                " VALUES (?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET verdict = excluded.verdict,"
                " trusted = excluded.trusted, checked_ms = excluded.checked_ms",
                (sha256, verdict_json, int(trusted), checked_ms))

        await self.db.write(tx)

    async def verdict(self, sha256: str) -> str | None:
        rows = list(await self.db.read(lambda c: c.execute_fetchall(
            "SELECT verdict FROM signature_verdicts WHERE sha256 = ?", (sha256,))))
        return None if not rows else str(rows[0][0])

    async def unchecked(self, limit: int = BATCH) -> list[str]:
        """PDF blobs their sender has uploaded (the hub verified the bytes) without a verdict,
        most urgent documents first."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT b.sha256 FROM doc_blobs b JOIN documents d ON d.id = b.doc_id"
            " JOIN blob_holders h ON h.sha256 = b.sha256 AND h.agency = d.sender"
            " LEFT JOIN signature_verdicts v ON v.sha256 = b.sha256"
            " WHERE b.pdf = 1 AND v.sha256 IS NULL GROUP BY b.sha256"
            " ORDER BY max(d.urgency) DESC, min(d.accepted_ms) LIMIT ?", (limit,)))
        return [str(r[0]) for r in rows]

    async def signed_counts(self) -> list[SignedCount]:
        """Per issuing agency, routed documents and those at least one of whose PDF
        attachments has a valid, trusted signature; a PDF not checked yet counts as unsigned."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT d.sender, count(*), coalesce(sum(EXISTS (SELECT 1 FROM doc_blobs b"
            " JOIN signature_verdicts v ON v.sha256 = b.sha256"
            " WHERE b.doc_id = d.id AND b.pdf = 1 AND v.trusted = 1)), 0)"
            " FROM documents d WHERE d.complete_ms IS NOT NULL GROUP BY d.sender"
            " ORDER BY d.sender"))
        return [SignedCount(str(r[0]), int(r[1]), int(r[2])) for r in rows]
