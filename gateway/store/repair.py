"""Bad and stray blobs: what the box does when bytes on its SD card cannot be trusted.

A damaged blob is never served and never re-sent as it is. It is moved aside (quarantined);
if the hub holds it and this box may read it (the box received it, or uploaded it before the
damage), it is fetched again; if it never reached the hub, the documents that need it go to
the dead letters with a reason a person can act on. Either way it is counted in
``bad_blobs``, whose size each heartbeat reports as ``blobs_bad``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.model.errors import Problem
from gateway.store.blobs import ScrubReport, printable_name
from gateway.store.db import Conn
from gateway.store.local import LocalStore, add_event

SWEEP_GRACE_S = 3600.0  # an unreferenced blob younger than this may belong to a send in progress


@dataclass(frozen=True)
class Refetch:
    sha256: str
    size: int
    urgency: int


def unsendable(name: str) -> Problem:
    """The reason a document with a damaged local attachment cannot be sent."""
    name = printable_name(name)
    return Problem("blob.damaged_local",
        f"Tệp đính kèm '{name}' bị hỏng trên máy này nên không gửi được; hãy gửi lại văn bản "
        "từ tệp gốc.",
        f"Attachment '{name}' is damaged on this box and cannot be sent; send the document "
        "again from the original file.")


async def bad_count(conn: Conn) -> int:
    row = await (await conn.execute("SELECT count(*) FROM bad_blobs")).fetchone()
    return int(row[0]) if row else 0


async def _mark(conn: Conn, sha256: str, state: str, now: int, detail: str = "") -> None:
    await conn.execute(
        "INSERT INTO bad_blobs(sha256, state, since_ms, detail) VALUES (?,?,?,?)"
        " ON CONFLICT(sha256) DO UPDATE SET state = excluded.state, detail = excluded.detail",
        (sha256, state, now, detail[:300]))


async def record_scrub(store: LocalStore, report: ScrubReport) -> int:
    """Quarantines what a scrub found corrupt and asks for every damaged or missing blob to be
    fetched again; forgets earlier findings that now check out. Returns how many are bad."""
    bad = [*report.corrupt, *report.missing]
    for sha in report.corrupt:
        await asyncio.to_thread(store.blobs.quarantine, sha)
    now = store.clock()

    async def tx(conn: Conn) -> int:
        known = {str(r[0]) for r in await conn.execute_fetchall("SELECT sha256 FROM bad_blobs")}
        for sha in known - set(bad):
            if store.blobs.has(sha):  # it checked out in this scrub: no longer bad
                await conn.execute("DELETE FROM bad_blobs WHERE sha256 = ?", (sha,))
        for sha in set(bad) - known:  # 'lost' stays lost: the hub never had those bytes
            await _mark(conn, sha, "refetch", now)
        return await bad_count(conn)

    return await store.db.write(tx)


async def refetch_todo(store: LocalStore) -> list[Refetch]:
    """Quarantined blobs to fetch again, most urgent first."""
    rows = await store.db.read(lambda c: c.execute_fetchall(
        "SELECT b.sha256, max(a.size), max(d.urgency) FROM bad_blobs b"
        " JOIN attachments a ON a.sha256 = b.sha256 JOIN documents d ON d.id = a.doc_id"
        " WHERE b.state = 'refetch' GROUP BY b.sha256 ORDER BY max(d.urgency) DESC,"
        " min(b.since_ms)"))
    return [Refetch(str(r[0]), int(r[1]), int(r[2])) for r in rows]


async def refetched(store: LocalStore, sha256: str) -> None:
    await store.db.write(lambda c: c.execute(
        "DELETE FROM bad_blobs WHERE sha256 = ? AND state = 'refetch'", (sha256,)))


async def refetch_refused(store: LocalStore, sha256: str, reason: str) -> None:
    """The hub will not give the blob back (it never had it complete): it stays lost."""
    now = store.clock()
    await store.db.write(lambda c: _mark(c, sha256, "lost", now, reason))


async def dead_letter_blob(store: LocalStore, sha256: str) -> list[str]:
    """Quarantines a local blob that no longer matches its digest and dead-letters the
    outbound documents still waiting to upload it; returns their ids (none on a repeat)."""
    await asyncio.to_thread(store.blobs.quarantine, sha256)
    now = store.clock()

    async def tx(conn: Conn) -> list[str]:
        rows = await conn.execute_fetchall(
            "SELECT o.doc_id, min(a.name), min(d.sender) FROM outbound o"
            " JOIN attachments a ON a.doc_id = o.doc_id JOIN documents d ON d.id = o.doc_id"
            " WHERE a.sha256 = ? AND o.state IN ('pending', 'accepted') GROUP BY o.doc_id",
            (sha256,))
        for doc_id, name, sender in ((str(r[0]), str(r[1]), str(r[2])) for r in rows):
            why = unsendable(name)
            text = f"{why.vi} / {why.en}"
            await conn.execute(
                "UPDATE outbound SET state = 'dead', last_error = ?, attempts = attempts + 1"
                " WHERE doc_id = ?", (text, doc_id))
            await add_event(conn, doc_id, now, sender, why.code, text)
        await _mark(conn, sha256, "lost", now, "sha256 mismatch before upload")
        return [str(r[0]) for r in rows]

    return await store.db.write(tx)


async def sweep_orphans(store: LocalStore, grace_s: float = SWEEP_GRACE_S) -> list[str]:
    """Removes blob files no document references (a send killed before its commit) once they
    are older than ``grace_s``; the blob store's lock keeps a concurrent send's files safe."""
    referenced = await store.referenced_digests()
    return await asyncio.to_thread(store.blobs.sweep, referenced, grace_s)
