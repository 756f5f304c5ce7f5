"""Finding documents by the first characters of their id, as ``git`` finds commits.

Ids are UUIDv7 strings from the issuing gateway (any string of up to 36 characters for a
package imported from elsewhere); a clerk types the first few characters of one.
"""

from __future__ import annotations

from gateway.store.db import Conn
from gateway.store.local import LocalStore

__all__ = ["all_ids", "ids_starting_with"]


async def ids_starting_with(store: LocalStore, prefix: str, limit: int) -> list[str]:
    """Up to ``limit`` ids that begin with ``prefix`` (letters in any case), in id order, the
    exact id first when there is one."""
    async def q(conn: Conn) -> list[str]:
        rows = await conn.execute_fetchall(
            "SELECT id FROM documents WHERE lower(substr(id, 1, ?)) = lower(?)"
            " ORDER BY id != ?, id LIMIT ?", (len(prefix), prefix, prefix, limit))
        return [str(r[0]) for r in rows]

    return await store.db.read(q)


async def all_ids(store: LocalStore) -> list[str]:
    """Every document id, for working out the shortest prefixes that stay unique."""
    async def q(conn: Conn) -> list[str]:
        return [str(r[0]) for r in await conn.execute_fetchall("SELECT id FROM documents")]

    return await store.db.read(q)
