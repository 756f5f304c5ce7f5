"""What `gateway status` and the TUI read about sync: the daemon's marks and a change signature.

The sync daemon is another process; these are read from what it committed, each in one
consistent snapshot, so a status line never mixes two moments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gateway.store import kv
from gateway.store.db import Conn
from gateway.store.local import LocalStore


@dataclass(frozen=True)
class SyncMarks:
    """The sync daemon's last records, ``None`` where nothing was recorded (named as in kv)."""

    last_sync_ms: int | None
    hub_time_ms: int | None
    skew_ms: int | None
    last_error: str | None
    last_error_ms: int | None
    link_reason: str | None
    next_try_ms: int | None
    disk_short_bytes: int | None
    rcursor: int | None

    def recorded(self) -> dict[str, int | str]:
        """Only the marks that exist, for the status report."""
        return {k: v for k, v in asdict(self).items() if v is not None}


async def sync_marks(store: LocalStore) -> SyncMarks:
    async def q(conn: Conn) -> SyncMarks:
        return SyncMarks(
            last_sync_ms=await kv.get(conn, kv.LAST_SYNC_MS),
            hub_time_ms=await kv.get(conn, kv.HUB_TIME_MS),
            skew_ms=await kv.get(conn, kv.SKEW_MS),
            last_error=await kv.get(conn, kv.LAST_ERROR),
            last_error_ms=await kv.get(conn, kv.LAST_ERROR_MS),
            link_reason=await kv.get(conn, kv.LINK_REASON),
            next_try_ms=await kv.get(conn, kv.NEXT_TRY_MS),
            disk_short_bytes=await kv.get(conn, kv.DISK_SHORT_BYTES),
            rcursor=await kv.get(conn, kv.RCURSOR),
        )

    return await store.db.read(q)


async def change_signature(store: LocalStore) -> tuple[int, ...]:
    """Changes whenever a document, a delivery, the queue or a verdict changes; one cheap
    query, so a screen can poll it and reload only when it moved."""
    async def q(conn: Conn) -> tuple[int, ...]:
        row = await (await conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM events), (SELECT count(*) FROM documents),"
            " (SELECT coalesce(sum(attempts), 0) FROM outbound),"
            " (SELECT count(*) FROM outbound WHERE state = 'done'),"
            " (SELECT count(*) FROM verdicts), (SELECT coalesce(max(checked_ms), 0)"
            " FROM verdicts)")).fetchone()
        return tuple(int(v) for v in row) if row else ()

    return await store.db.read(q)
