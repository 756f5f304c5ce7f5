"""Taking back a status the clerk just recorded, while it is still held on the box.

The clerk's statuses of a received document replay from the event log ('status 03',
'withdrawn 03'), so the state to go back to is the one before the last status still standing;
the withdrawal is itself logged (the log is append-only). The status must still be in
``status_out`` and inside the undo window (:mod:`gateway.model.hold`), checked with the clock
read inside the write transaction, which the daemon's reads serialise against.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model import Delivery, IllegalTransition, Problem, Refused, State, apply
from gateway.model.delivery import STATUS_EVENTS
from gateway.model.hold import may_withdraw
from gateway.store.db import Conn
from gateway.store.local import LocalStore, add_event

STATUS, WITHDRAWN = "status ", "withdrawn "  # event kinds: the clerk set / took back a status


@dataclass(frozen=True)
class LastStatus:
    """The clerk's last status of a document still standing, and whether it is still on
    the box (``queued``: not yet confirmed by the hub) and since when."""

    code: str
    at_ms: int
    queued: bool


def _standing(kinds: list[str]) -> list[str]:
    """The clerk's status codes still standing, oldest first."""
    codes: list[str] = []
    for kind in kinds:
        if kind.startswith(STATUS):
            codes.append(kind.removeprefix(STATUS))
        elif kind.startswith(WITHDRAWN) and codes:
            codes.pop()
    return codes


def _replay(codes: list[str]) -> State:
    state = Delivery(State.RECEIVED)
    for code in codes:
        event = STATUS_EVENTS.get(code)
        if event is not None:
            try:
                state = apply(state, event)
            except IllegalTransition:
                continue
    return state.state


async def _read(conn: Conn, doc_id: str) -> tuple[list[str], tuple[str, int] | None]:
    rows = await conn.execute_fetchall(
        "SELECT kind FROM events WHERE doc_id = ? AND actor = 'clerk' AND (kind LIKE ? OR kind"
        " LIKE ?) ORDER BY id", (doc_id, STATUS + "%", WITHDRAWN + "%"))
    codes = _standing([str(r[0]) for r in rows])
    if not codes:
        return codes, None
    row = await (await conn.execute(
        "SELECT sid, at_ms FROM status_out WHERE doc_id = ? AND code = ? ORDER BY at_ms DESC"
        " LIMIT 1", (doc_id, codes[-1]))).fetchone()
    return codes, (str(row[0]), int(row[1])) if row else None


async def last_status(store: LocalStore, doc_id: str) -> LastStatus | None:
    """``None`` when the clerk has recorded no status for this document (or took all back)."""
    async def q(conn: Conn) -> LastStatus | None:
        codes, queued = await _read(conn, doc_id)
        if not codes:
            return None
        if queued is not None:
            return LastStatus(codes[-1], queued[1], True)
        row = await (await conn.execute(
            "SELECT max(at_ms) FROM events WHERE doc_id = ? AND kind = ?",
            (doc_id, STATUS + codes[-1]))).fetchone()
        return LastStatus(codes[-1], int(row[0]) if row and row[0] else 0, False)

    return await store.db.read(q)


def _refused(code: str, vi: str, en: str) -> Refused:
    return Refused(Problem(f"status.withdraw.{code}", vi, en))


async def withdraw(store: LocalStore, doc_id: str) -> tuple[str, State]:
    """Takes back the clerk's last status of ``doc_id``; returns its code and the state the
    document is back in. Refused when there is none, when it may already have left the box,
    or when the document changed meanwhile (a recall from the sender)."""
    async def tx(conn: Conn) -> tuple[str, State]:
        now = store.clock()
        codes, queued = await _read(conn, doc_id)
        if not codes:
            raise _refused("none", "Văn bản này chưa có trạng thái nào để hoàn tác.",
                           "There is no status of this document to undo.")
        code = codes[-1]
        if queued is None or not may_withdraw(code, queued[1], now):
            raise _refused("left",
                "Không hoàn tác được: trạng thái này đã được gửi đi (hoặc đang gửi) lên tỉnh "
                "để báo nơi gửi. Trạng thái chỉ đi tiếp, không lùi lại được.",
                "Cannot undo: this status has been sent (or is being sent) to the province "
                "for the sender. Statuses only move forward.")
        row = await (await conn.execute(
            "SELECT inbox_status FROM documents WHERE id = ?", (doc_id,))).fetchone()
        if row is None or str(row[0]) != _replay(codes).value:
            raise _refused("changed",
                "Không hoàn tác được: văn bản đã thay đổi (nơi gửi đã thu hồi).",
                "Cannot undo: the document changed meanwhile (the sender recalled it).")
        back = _replay(codes[:-1])
        await conn.execute("DELETE FROM status_out WHERE sid = ?", (queued[0],))
        await conn.execute("UPDATE documents SET inbox_status = ? WHERE id = ?",
                           (back.value, doc_id))
        await add_event(conn, doc_id, now, "clerk", WITHDRAWN + code)
        return code, back

    return await store.db.write(tx)
