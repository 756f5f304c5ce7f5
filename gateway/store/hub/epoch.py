"""The hub's epoch: one random id for the history its database holds.

A restore brings back a database that has forgotten what happened after its backup, while the
boxes remember it. The epoch tells them: it is made with the database (schema step 7) and
replaced by :func:`begin_epoch` when a backup is restored, and every sync reply carries it, so a
box that sees it change offers again what the hub may have lost (gateway/sync/hub_epoch.py).
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from pathlib import Path

from gateway.store.db import Database

KEY = "epoch"


async def read_epoch(db: Database) -> str:
    """This hub's epoch ("" for a database without one, which schema step 7 never leaves)."""
    rows = await db.read(lambda c: c.execute_fetchall(
        "SELECT value FROM kv WHERE key = ?", (KEY,)))
    return next((str(r[0]) for r in rows), "")


def begin_epoch(path: Path) -> str:
    """Gives the (restored, not yet served) database at ``path`` a new epoch and returns it."""
    epoch = secrets.token_hex(16)
    with contextlib.closing(sqlite3.connect(path, timeout=30.0, isolation_level=None)) as conn:
        conn.execute("INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key)"
                     " DO UPDATE SET value = excluded.value", (KEY, epoch))
    return epoch
