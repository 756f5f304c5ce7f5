"""The box's ``kv`` table: the sync daemon's few scalars, each a named key with one type.

Every key the box reads or writes is declared here, so a misspelt key fails at import instead
of reading as "never written", and a reader gets an ``int`` or a ``str``, never raw text. An
absent key means "not recorded" (no sync yet, no link problem, no disk shortage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.store.db import Conn

T = TypeVar("T", int, str)


@dataclass(frozen=True)
class Key(Generic[T]):
    name: str
    parse: Callable[[str], T]  # ``int`` or ``str``: turns the stored text back into the value


RCURSOR = Key("rcursor", int)  # the highest receipt sequence applied, sent back to the hub
LAST_SYNC_MS = Key("last_sync_ms", int)  # box clock when the last exchange was committed
HUB_TIME_MS = Key("hub_time_ms", int)  # the hub's clock in its last reply
SKEW_MS = Key("skew_ms", int)  # hub clock minus box clock at the last reply
LAST_ERROR = Key("last_error", str)  # the current link problem; a good sync forgets it
LAST_ERROR_MS = Key("last_error_ms", int)  # box clock when that problem began
LINK_REASON = Key("link_reason", str)  # its kind, a key of gateway.model.link.REASONS
NEXT_TRY_MS = Key("next_try_ms", int)  # box clock of the daemon's next attempt while failing
DISK_SHORT_BYTES = Key("disk_short_bytes", int)  # bytes downloads wait for; absent: none
HUB_EPOCH = Key("hub_epoch", str)  # the hub's epoch in the last reply that had one

AnyKey = Key[int] | Key[str]


async def get(conn: Conn, key: Key[T]) -> T | None:
    row = await (await conn.execute("SELECT value FROM kv WHERE key = ?",
                                    (key.name,))).fetchone()
    return key.parse(str(row[0])) if row is not None else None


async def put(conn: Conn, key: Key[T], value: T) -> None:
    await conn.execute("INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key)"
                       " DO UPDATE SET value = excluded.value", (key.name, str(value)))


async def forget(conn: Conn, *keys: AnyKey) -> None:
    await conn.executemany("DELETE FROM kv WHERE key = ?", [(k.name,) for k in keys])
