"""The gateway's document store: documents, deliveries, the outbound queue and the event log.

Everything a clerk did is committed before the command answers, so an id that was printed
survives any crash. Sync-specific bookkeeping lives in :mod:`gateway.store.syncstate`, the
daemon's scalars in :mod:`gateway.store.kv`, damaged blobs in :mod:`gateway.store.repair`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.edxml.mapping import K_PACKAGE
from gateway.model import (
    Delivery,
    Envelope,
    Event,
    IllegalTransition,
    Problem,
    Refused,
    State,
    apply,
    envelope_from_dict,
    envelope_to_dict,
)
from gateway.store import kv
from gateway.store.blobs import BlobStore, printable_name
from gateway.store.db import Conn, Database
from gateway.store.layout import Layout
from gateway.store.schema import GATEWAY_MIGRATIONS

Clock = Callable[[], int]
_PACKAGE_PATH = f'$.extra."{K_PACKAGE}"'


@dataclass(frozen=True)
class EventRow:
    at_ms: int
    actor: str
    kind: str
    detail: str


@dataclass(frozen=True)
class DeliveryRow:
    recipient: str
    state: State
    recall_pending: bool
    updated_ms: int


@dataclass(frozen=True)
class Doc:
    envelope: Envelope
    direction: str
    inbox_status: State | None
    deliveries: tuple[DeliveryRow, ...]
    queue_state: str | None
    last_error: str
    attempts: int
    stored_ms: int = 0  # when this box stored it (a received document: when it arrived)
    opened_ms: int | None = None  # when the clerk first opened it; None: unread


async def add_event(conn: Conn, doc_id: str, at_ms: int, actor: str, kind: str,
                    detail: str = "") -> None:
    await conn.execute(
        "INSERT INTO events(doc_id, at_ms, actor, kind, detail) VALUES (?, ?, ?, ?, ?)",
        (doc_id, at_ms, actor, kind, detail),
    )


def _not_found(doc_id: str) -> Refused:
    return Refused(Problem("document.not_found", f"Không tìm thấy văn bản {doc_id[:40]}.",
                           f"No document {doc_id[:40]}."))


class LocalStore:
    def __init__(self, layout: Layout, db: Database, blobs: BlobStore, clock: Clock) -> None:
        self.layout = layout
        self.db = db
        self.blobs = blobs
        self.clock = clock

    @classmethod
    async def open(cls, layout: Layout, clock: Clock, *, check: bool = False) -> LocalStore:
        """Opens the store; leftovers of a crash are swept away. ``check`` adds SQLite's
        integrity check, which the daemon runs at start-up (it reads the whole file, too slow
        on an SD card for every CLI call)."""
        blobs = BlobStore(layout.blobs)
        blobs.cleanup_tmp()
        db = await Database.open(layout.db, GATEWAY_MIGRATIONS)
        problems = await db.integrity_problems() if check else []
        if problems:
            await db.close()
            raise Refused(Problem("store.corrupt",
                f"Cơ sở dữ liệu bị hỏng: {problems[0][:200]}. Hãy báo cán bộ CNTT của tỉnh.",
                f"The database is damaged: {problems[0][:200]}. Call the provincial IT team."))
        return cls(layout, db, blobs, clock)

    async def close(self) -> None:
        await self.db.close()

    async def queue_document(self, env: Envelope, actor: str = "clerk") -> None:
        """Commits a new outbound document; its blobs must already be in the blob store."""
        now = self.clock()

        async def tx(conn: Conn) -> None:
            await insert_document(conn, env, "out", now)
            await conn.executemany(
                "INSERT INTO deliveries(doc_id, recipient, state, updated_ms) VALUES (?,?,?,?)",
                [(env.id, r, State.QUEUED.value, now) for r in env.recipients],
            )
            await conn.execute("INSERT INTO outbound(doc_id, state) VALUES (?, 'pending')",
                               (env.id,))
            await add_event(conn, env.id, now, actor, "queued",
                            f"{len(env.recipients)} recipients")

        await self.db.write(tx)

    async def list_documents(self, direction: str | None = None) -> list[Doc]:
        async def q(conn: Conn) -> list[Doc]:
            sql = "SELECT id FROM documents"
            args: tuple[str, ...] = ()
            if direction:
                sql += " WHERE direction = ?"
                args = (direction,)
            rows = await conn.execute_fetchall(sql + " ORDER BY created_ms DESC, id DESC", args)
            return [d for r in rows if (d := await _load_doc(conn, str(r[0]))) is not None]

        return await self.db.read(q)

    async def document(self, doc_id: str) -> Doc:
        doc = await self.db.read(lambda conn: _load_doc(conn, doc_id))
        if doc is None:
            raise _not_found(doc_id)
        return doc

    async def mark_opened(self, doc_id: str) -> None:
        """Records the first time the clerk opened a document (later openings write nothing,
        as the SD card wears)."""
        now = self.clock()

        async def tx(conn: Conn) -> None:
            await conn.execute("UPDATE documents SET opened_ms = ? WHERE id = ? AND opened_ms"
                               " IS NULL", (now, doc_id))

        await self.db.write(tx)

    async def events(self, doc_id: str) -> list[EventRow]:
        async def q(conn: Conn) -> list[EventRow]:
            rows = await conn.execute_fetchall(
                "SELECT at_ms, actor, kind, detail FROM events WHERE doc_id = ? ORDER BY id",
                (doc_id,))
            return [EventRow(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

        return await self.db.read(q)

    async def referenced_digests(self) -> list[str]:
        """Attachments, and the original edXML packages that imported documents keep."""
        async def q(conn: Conn) -> list[str]:
            rows = await conn.execute_fetchall(
                "SELECT sha256 FROM attachments UNION SELECT json_extract(envelope, ?)"
                " FROM documents WHERE json_extract(envelope, ?) IS NOT NULL",
                (_PACKAGE_PATH, _PACKAGE_PATH))
            return [str(r[0]) for r in rows]

        return await self.db.read(q)

    async def retry(self, doc_id: str) -> None:
        """A person puts a dead-lettered document back in the queue."""
        now = self.clock()

        async def tx(conn: Conn) -> None:
            lost = await conn.execute_fetchall(
                "SELECT a.name, a.sha256 FROM attachments a JOIN bad_blobs b"
                " ON b.sha256 = a.sha256 WHERE a.doc_id = ? AND b.state = 'lost'", (doc_id,))
            damaged = [str(r[0]) for r in lost if not self.blobs.has(str(r[1]))]
            if damaged:  # its bytes were quarantined: sending again needs the original file
                raise Refused(Problem("document.blob_lost",
                    f"Không gửi lại được: tệp đính kèm '{printable_name(damaged[0])}' đã hỏng "
                    "trên máy này; hãy soạn lại văn bản từ tệp gốc.",
                    f"Cannot resend: attachment '{printable_name(damaged[0])}' was damaged on "
                    "this box; compose the document again from the original file."))
            cur = await conn.execute(
                "UPDATE outbound SET state='pending', attempts=0, next_ms=0, last_error='' "
                "WHERE doc_id = ? AND state = 'dead'", (doc_id,))
            if cur.rowcount != 1:
                raise Refused(Problem("document.not_dead",
                    "Văn bản này không ở trạng thái gửi lỗi.", "This document has not failed."))
            await add_event(conn, doc_id, now, "clerk", "retry")

        await self.db.write(tx)

    async def mark(self, doc_id: str, code: str, note: str = "", actor: str = "clerk") -> str:
        """Records the clerk's status for a received document and queues it for the sender."""
        event = {e.value: e for e in Event}.get(code)
        if event is None or not code.isdigit():
            raise Refused(Problem("status.invalid", f"Mã trạng thái không hợp lệ: {code[:8]}",
                                  f"Invalid status code: {code[:8]}"))
        now = self.clock()
        sid = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))

        async def tx(conn: Conn) -> None:
            row = await (await conn.execute(
                "SELECT inbox_status FROM documents WHERE id = ? AND direction = 'in'",
                (doc_id,))).fetchone()
            if row is None:
                raise _not_found(doc_id)
            current = Delivery(State(str(row[0])))
            try:
                new = apply(current, event)
            except IllegalTransition:
                raise Refused(Problem("status.illegal",
                    f"Không thể chuyển từ '{current.state.label_vi}' sang mã {code}.",
                    f"Cannot go from '{current.state.label_en}' to status {code}.")) from None
            await conn.execute("UPDATE documents SET inbox_status = ? WHERE id = ?",
                               (new.state.value, doc_id))
            await conn.execute(
                "INSERT INTO status_out(sid, doc_id, code, note, at_ms) VALUES (?,?,?,?,?)",
                (sid, doc_id, code, note[:500], now))
            await add_event(conn, doc_id, now, actor, f"status {code}", note[:500])

        await self.db.write(tx)
        return sid

    async def hub_skew_ms(self) -> int:
        """Hub clock minus this box's clock at the last sync (0 before any): the box has no
        real-time clock, so dates a clerk sees are corrected by it."""
        return await self.db.read(lambda c: kv.get(c, kv.SKEW_MS)) or 0

    async def counts(self) -> dict[str, int]:
        async def q(conn: Conn) -> dict[str, int]:
            out: dict[str, int] = {}
            for state in ("pending", "accepted", "done", "dead"):
                row = await (await conn.execute(
                    "SELECT count(*) FROM outbound WHERE state = ?", (state,))).fetchone()
                out[f"outbound_{state}"] = int(row[0]) if row else 0
            for name, sql in (
                ("inbox", "SELECT count(*) FROM documents WHERE direction = 'in'"),
                ("inbound_downloading", "SELECT count(*) FROM inbound_pending"),
                ("statuses_unsent", "SELECT count(*) FROM status_out"),
                ("blobs_refetching", "SELECT count(*) FROM bad_blobs WHERE state = 'refetch'"),
                ("blobs_lost", "SELECT count(*) FROM bad_blobs WHERE state = 'lost'"),
            ):
                row = await (await conn.execute(sql)).fetchone()
                out[name] = int(row[0]) if row else 0
            return out

        return await self.db.read(q)


async def insert_document(conn: Conn, env: Envelope, direction: str, now: int) -> None:
    await conn.execute(
        "INSERT INTO documents(id, direction, sender, urgency, created_ms, envelope,"
        " inbox_status, received_ms) VALUES (?,?,?,?,?,?,?,?)",
        (env.id, direction, env.sender, int(env.urgency), env.created_ms or now,
         json.dumps(envelope_to_dict(env), ensure_ascii=False),
         State.RECEIVED.value if direction == "in" else None,
         now if direction == "in" else None),
    )
    await conn.executemany(
        "INSERT INTO attachments(doc_id, idx, name, media_type, sha256, size) "
        "VALUES (?,?,?,?,?,?)",
        [(env.id, i, a.name, a.media_type, a.sha256, a.size)
         for i, a in enumerate(env.attachments)],
    )


async def _load_doc(conn: Conn, doc_id: str) -> Doc | None:
    row = await (await conn.execute(
        "SELECT d.envelope, d.direction, d.inbox_status, o.state, o.last_error, o.attempts, "
        "d.created_ms, d.opened_ms "
        "FROM documents d LEFT JOIN outbound o ON o.doc_id = d.id WHERE d.id = ?",
        (doc_id,))).fetchone()
    if row is None:
        return None
    deliveries = await conn.execute_fetchall(
        "SELECT recipient, state, recall_pending, updated_ms FROM deliveries "
        "WHERE doc_id = ? ORDER BY recipient", (doc_id,))
    return Doc(
        envelope=envelope_from_dict(json.loads(str(row[0]))),
        direction=str(row[1]),
        inbox_status=State(str(row[2])) if row[2] else None,
        deliveries=tuple(DeliveryRow(str(d[0]), State(str(d[1])), bool(d[2]), int(d[3]))
                         for d in deliveries),
        queue_state=str(row[3]) if row[3] else None,
        last_error=str(row[4] or ""),
        attempts=int(row[5] or 0),
        stored_ms=int(row[6] or 0),
        opened_ms=int(row[7]) if row[7] is not None else None,
    )


def data_path(root: str | Path) -> Layout:
    return Layout(Path(root))
