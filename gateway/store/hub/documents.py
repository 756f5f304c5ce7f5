"""The hub's documents: acceptance, routing into per-recipient inboxes, receipts, holders.

Every operation that changes state is one transaction and is idempotent, because every request
may be a replay after a cut. Routing happens exactly once per document, at the moment its last
blob is verified; ``reconcile`` repeats it after a crash between blob and database.

What the hub accepts and how much a reply carries are its policy (:mod:`gateway.hub`): the
verdict on each envelope and the byte budget come in as values. :class:`HubStore` is also the
one handle on the hub's database, so it carries the other accessors of this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.errors import StoreError
from gateway.model import Directory, Envelope, envelope_from_dict, envelope_to_dict
from gateway.protocol.limits import MAX_INBOX, MAX_RECEIPTS, REPLY_BUDGET
from gateway.protocol.wire import BlobNeed, InboxItem, NodeReport, Receipt, Refusal
from gateway.store.blobs import BlobStore
from gateway.store.db import Conn, Database
from gateway.store.hub.axis import AxisRecords, is_national, note_pulled
from gateway.store.hub.credentials import Credentials
from gateway.store.hub.fleet import FleetRecords
from gateway.store.hub.kpi import KpiRecords
from gateway.store.hub.restore import RestoreRecords
from gateway.store.hub.statuses import StatusLog, add_receipt
from gateway.store.hub.verdicts import SignatureRecords

Clock = Callable[[], int]

# Receipt events the hub makes itself (the box's statuses are the others).
AT_HUB = "at_hub"  # routed: every blob verified, in the recipient's inbox
DELIVERED = "delivered"  # the recipient's box acknowledged it


# The first MAX_INBOX waiting entries in reply order, cut where the running total of stored
# envelope bytes passes the budget; the first always stays, so every sync makes progress.
_FITTING_INBOX = (
    "SELECT seq FROM (SELECT seq, row_number() OVER w AS n, sum(size) OVER w AS upto"
    " FROM (SELECT i.seq, i.urgency, length(CAST(d.envelope AS BLOB)) AS size FROM inbox i"
    " JOIN documents d ON d.id = i.doc_id WHERE i.recipient = ? AND i.acked_ms IS NULL"
    " ORDER BY i.urgency DESC, i.seq LIMIT ?)"
    " WINDOW w AS (ORDER BY urgency DESC, seq)) WHERE n = 1 OR upto <= ? ORDER BY n")


@dataclass(frozen=True)
class Accepted:
    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...]
    touched: frozenset[str]  # agencies whose view changed (for long-poll wake-ups)


class HubStore:
    def __init__(self, db: Database, blobs: BlobStore, directory: Directory, clock: Clock):
        self.db = db
        self.blobs = blobs
        self.directory = directory  # loaded at start-up; the hub validates addresses with it
        self.clock = clock
        self.credentials = Credentials(db)
        self.fleet = FleetRecords(db)
        self.kpi = KpiRecords(db)
        self.statuses = StatusLog(db)
        self.signatures = SignatureRecords(db)
        self.axis = AxisRecords(db)
        self.restore = RestoreRecords(db)
        self.national: frozenset[str] = frozenset()  # codes reached through the axis
        self.pending_heartbeats: dict[str, tuple[str | int, ...]] = {}

    # Gateway -> hub ------------------------------------------------------------------------

    def heartbeat(self, agency: str, node: NodeReport) -> None:
        """Notes a heartbeat in memory; :meth:`flush_heartbeats` writes them in one go.

        Heartbeats are soft state sent on every sync: a transaction (and an fsync) for each
        would be the hub's main cost with thousands of gateways, and losing the last few
        seconds of them in a crash loses nothing.
        """
        now = self.clock()
        self.pending_heartbeats[agency] = (
            agency, now, now, node.version, now - node.clock_ms, node.queue, node.disk_free,
            node.blobs_bad, node.uptime_s, node.last_error, node.dead)

    async def flush_heartbeats(self) -> None:
        if not self.pending_heartbeats:
            return
        rows, self.pending_heartbeats = list(self.pending_heartbeats.values()), {}
        await self.db.write(lambda c: c.executemany(
            "INSERT INTO gateways(agency, first_seen_ms, last_seen_ms, version, skew_ms, queue,"
            " disk_free, blobs_bad, uptime_s, last_error, dead, syncs)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,1)"
            " ON CONFLICT(agency) DO UPDATE SET last_seen_ms=excluded.last_seen_ms,"
            " version=excluded.version, skew_ms=excluded.skew_ms, queue=excluded.queue,"
            " disk_free=excluded.disk_free, blobs_bad=excluded.blobs_bad,"
            " uptime_s=excluded.uptime_s, last_error=excluded.last_error,"
            " dead=excluded.dead, syncs=syncs+1", rows))

    async def accept(self, agency: str,
                     offered: Sequence[tuple[Envelope, Refusal | None]]) -> Accepted:
        """Stores the envelopes ``agency`` offered, each with the hub's verdict on it (None:
        acceptable); a size contradicting a held blob or a reused id is refused here."""
        if not offered:
            return Accepted((), (), frozenset())
        accepted: list[str] = []
        refused: list[Refusal] = []
        touched: set[str] = set()

        async def tx(conn: Conn) -> None:
            for env, problem in offered:
                if problem is None:
                    problem = await _check_sizes(conn, self.blobs, agency, env)
                if problem is None:
                    problem = await _insert(conn, env, self.clock())
                if problem is not None:
                    refused.append(problem)
                    continue
                accepted.append(env.id)
                touched.update(await self._route_if_complete(conn, env.id))

        await self.db.write(tx)
        return Accepted(tuple(accepted), tuple(refused), frozenset(touched))

    async def ack(self, agency: str, seqs: Sequence[int]) -> frozenset[str]:
        """Marks inbox entries delivered; the sender gets a ``delivered`` receipt once."""
        if not seqs:
            return frozenset()
        now = self.clock()
        senders: set[str] = set()

        async def tx(conn: Conn) -> None:
            for seq in seqs:
                row = await (await conn.execute(
                    "SELECT i.doc_id, d.sender FROM inbox i JOIN documents d ON d.id = i.doc_id"
                    " WHERE i.seq = ? AND i.recipient = ? AND i.acked_ms IS NULL",
                    (seq, agency))).fetchone()
                if row is None:
                    continue  # unknown, foreign or already acked: a replay is harmless
                await conn.execute("UPDATE inbox SET acked_ms = ? WHERE seq = ?", (now, seq))
                await add_receipt(conn, str(row[1]), str(row[0]), agency, DELIVERED, now)
                senders.add(str(row[1]))

        await self.db.write(tx)
        return frozenset(senders)

    async def accept_from_axis(self, env: Envelope, key: str, axis_id: str,
                               document_id: str) -> frozenset[str]:
        """Files a document pulled from the axis whose blobs the hub already stored: its
        sender is recorded as their holder and it is routed at once, in the transaction that
        records its dedupe ``key`` (a replay files nothing)."""
        touched: set[str] = set()

        async def tx(conn: Conn) -> None:
            seen = await (await conn.execute("SELECT 1 FROM axis_pulled WHERE key = ?",
                                             (key,))).fetchone()
            if seen is not None:
                return
            await conn.executemany(
                "INSERT OR IGNORE INTO blob_holders(sha256, agency) VALUES (?,?)",
                [(a.sha256, env.sender) for a in env.attachments])
            problem = await _insert(conn, env, self.clock())
            if problem is not None:
                raise StoreError(f"axis document {env.id}: {problem.reason}")
            await conn.execute("INSERT INTO axis_docs(doc_id, document_id, direction)"
                               " VALUES (?,?,'in')", (env.id, document_id))
            await note_pulled(conn, key, axis_id, env.id, self.clock())
            touched.update(await self._route_if_complete(conn, env.id))

        await self.db.write(tx)
        return frozenset(touched)

    # Hub -> gateway ------------------------------------------------------------------------

    async def needs(self, agency: str) -> list[BlobNeed]:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT b.sha256, max(b.size), max(d.urgency), min(d.accepted_ms)"
            " FROM documents d JOIN doc_blobs b ON b.doc_id = d.id"
            " LEFT JOIN blob_holders h ON h.sha256 = b.sha256 AND h.agency = d.sender"
            " WHERE d.sender = ? AND d.complete_ms IS NULL AND h.agency IS NULL"
            " GROUP BY b.sha256"
            " ORDER BY max(d.urgency) DESC, min(d.accepted_ms), b.sha256", (agency,)))
        return [BlobNeed(str(r[0]), self.blobs.partial_size(str(r[0])), int(r[1]), int(r[2]))
                for r in rows]

    async def inbox(self, agency: str, budget: int = REPLY_BUDGET) -> list[InboxItem]:
        """Waiting documents, most urgent first, the leading ones whose stored JSON fits in
        ``budget`` bytes (at least one), so a backlog of large envelopes is never loaded whole.
        The hub then fits them by their exact wire sizes (:mod:`gateway.hub.reply`)."""
        heads = await self.db.read(lambda c: c.execute_fetchall(_FITTING_INBOX,
                                                                (agency, MAX_INBOX, budget)))
        seqs = [int(r[0]) for r in heads]
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        rows = await self.db.read(lambda c: c.execute_fetchall(
            f"SELECT i.seq, d.envelope FROM inbox i JOIN documents d ON d.id = i.doc_id"
            f" WHERE i.seq IN ({marks}) AND i.acked_ms IS NULL", seqs))
        by_seq = {int(r[0]): str(r[1]) for r in rows}
        return [InboxItem(seq, envelope_from_dict(json.loads(by_seq[seq])))
                for seq in seqs if seq in by_seq]

    async def inbox_mark(self, agency: str) -> int:
        """The newest inbox entry ``agency`` has not acked (0 for none): it changes when a
        document is routed to it, so an upload reply can say "news" in a few bytes
        (``X-Sync-News``, docs/protocol.md §3). One index lookup: it is read on every PATCH."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT max(seq) FROM inbox WHERE recipient = ? AND acked_ms IS NULL", (agency,)))
        value = next(iter(rows))[0]
        return 0 if value is None else int(value)

    async def receipts(self, agency: str, after: int) -> list[Receipt]:
        """Receipts for ``agency``'s documents after its cursor, oldest first; the hub keeps
        the leading ones that fit its reply (:mod:`gateway.hub.reply`)."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT rseq, doc_id, recipient, event, at_ms, note FROM receipts"
            " WHERE sender = ? AND rseq > ? ORDER BY rseq LIMIT ?",
            (agency, after, MAX_RECEIPTS)))
        return [Receipt(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5]))
                for r in rows]

    # Blobs ---------------------------------------------------------------------------------

    async def upload_size(self, agency: str, sha256: str) -> int | None:
        """The blob's declared size if ``agency`` issued an accepted document that uses it."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT max(b.size) FROM doc_blobs b JOIN documents d ON d.id = b.doc_id"
            " WHERE b.sha256 = ? AND d.sender = ?", (sha256, agency)))
        value = next(iter(rows))[0]
        return None if value is None else int(value)

    async def may_read(self, agency: str, sha256: str) -> bool:
        """Only a holder may download: it uploaded the bytes, or a document carrying them was
        routed to it. Naming the digest in one's own envelope proves nothing (dedupe oracle)."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT 1 FROM blob_holders WHERE sha256 = ? AND agency = ? LIMIT 1",
            (sha256, agency)))
        return bool(list(rows))

    async def blob_completed(self, agency: str, sha256: str) -> frozenset[str]:
        """Records that ``agency`` uploaded the blob and routes every document it completed."""
        touched: set[str] = set()

        async def tx(conn: Conn) -> None:
            await conn.execute("INSERT OR IGNORE INTO blob_holders(sha256, agency) VALUES (?,?)",
                               (sha256, agency))
            rows = await conn.execute_fetchall(
                "SELECT d.id FROM doc_blobs b JOIN documents d ON d.id = b.doc_id"
                " WHERE b.sha256 = ? AND d.complete_ms IS NULL", (sha256,))
            for r in rows:
                touched.update(await self._route_if_complete(conn, str(r[0])))

        await self.db.write(tx)
        return frozenset(touched)

    async def reconcile(self) -> frozenset[str]:
        """After a crash between a blob landing and its routing commit: route what is whole."""
        touched: set[str] = set()

        async def tx(conn: Conn) -> None:
            rows = await conn.execute_fetchall(
                "SELECT id FROM documents WHERE complete_ms IS NULL")
            for r in rows:
                touched.update(await self._route_if_complete(conn, str(r[0])))

        await self.db.write(tx)
        return frozenset(touched)

    async def _route_if_complete(self, conn: Conn, doc_id: str) -> set[str]:
        rows = await conn.execute_fetchall(
            "SELECT b.sha256, h.agency FROM doc_blobs b JOIN documents d ON d.id = b.doc_id"
            " LEFT JOIN blob_holders h ON h.sha256 = b.sha256 AND h.agency = d.sender"
            " WHERE b.doc_id = ?", (doc_id,))
        if not all(r[1] is not None and self.blobs.has(str(r[0])) for r in rows):
            return set()
        row = await (await conn.execute(
            "SELECT sender, urgency, envelope FROM documents WHERE id = ? AND complete_ms IS NULL",
            (doc_id,))).fetchone()
        if row is None:
            return set()
        now = self.clock()
        sender = str(row[0])
        env = envelope_from_dict(json.loads(str(row[2])))
        await conn.execute("UPDATE documents SET complete_ms = ? WHERE id = ?", (now, doc_id))
        for recipient in env.recipients:
            await add_receipt(conn, sender, doc_id, recipient, AT_HUB, now)
            if await is_national(conn, recipient):  # the axis link pushes it from here
                await conn.execute("INSERT OR IGNORE INTO axis_out(doc_id, recipient)"
                                   " VALUES (?,?)", (doc_id, recipient))
                continue
            await conn.execute(
                "INSERT OR IGNORE INTO inbox(recipient, doc_id, urgency, routed_ms)"
                " VALUES (?,?,?,?)", (recipient, doc_id, int(row[1]), now))
            await conn.executemany(
                "INSERT OR IGNORE INTO blob_holders(sha256, agency) VALUES (?,?)",
                [(a.sha256, recipient) for a in env.attachments])
        return {sender, *env.recipients}


async def _check_sizes(conn: Conn, blobs: BlobStore, agency: str,
                       env: Envelope) -> Refusal | None:
    """A size that contradicts a blob the hub holds is refused only to a holder of that blob:
    telling anyone else would reveal that the hub has it. A non-holder must upload the bytes,
    which cannot hash right at the wrong size, so its document simply never completes."""
    for att in env.attachments:
        if not blobs.has(att.sha256) or blobs.size(att.sha256) == att.size:
            continue
        held = await (await conn.execute(
            "SELECT 1 FROM blob_holders WHERE sha256 = ? AND agency = ?",
            (att.sha256, agency))).fetchone()
        if held is not None:
            return Refusal(env.id, "attachment.size", f"size of {att.name[:60]} is wrong")
    return None


async def _insert(conn: Conn, env: Envelope, now: int) -> Refusal | None:
    text = json.dumps(envelope_to_dict(env), ensure_ascii=False, sort_keys=True)
    row = await (await conn.execute(
        "SELECT envelope FROM documents WHERE id = ?", (env.id,))).fetchone()
    if row is not None:
        same = json.loads(str(row[0])) == json.loads(text)
        return None if same else Refusal(env.id, "conflict.id",
                                         "another document already has this id")
    await conn.execute(
        "INSERT INTO documents(id, sender, urgency, envelope, accepted_ms) VALUES (?,?,?,?,?)",
        (env.id, env.sender, int(env.urgency), text, now))
    await conn.executemany(
        "INSERT OR IGNORE INTO doc_blobs(doc_id, sha256, size, pdf) VALUES (?,?,?,?)",
        [(env.id, a.sha256, a.size, int(a.is_pdf)) for a in env.attachments])
    return None

