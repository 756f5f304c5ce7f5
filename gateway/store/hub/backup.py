"""The hub database's side of backup and restore: a consistent copy taken while it serves.

The hub runs SQLite in WAL mode, so copying ``hub.sqlite3`` with ``cp`` while it serves can
miss the committed pages still in the write-ahead log, or tear a page being checkpointed.
SQLite's online backup API copies through a read transaction instead: one snapshot of the
whole database, taken without blocking the hub's writer (WAL readers never block writers).

A restored hub has lost whatever it committed after the snapshot, but boxes may have seen
some of it: receipt and inbox sequence numbers from that lost period. :func:`advance_sequences`
moves both counters far past anything the lost period can have used, so a box's receipt cursor
never hides a new receipt and a new inbox entry never reuses a number a box already saw.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

# Far more receipts and inbox entries than a province makes between two nightly backups.
SEQUENCE_MARGIN = 1_000_000_000


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def snapshot(source: Path, dest: Path) -> int:
    """Copies the live database ``source`` to the new file ``dest`` in one snapshot, fsyncs it
    and checks it; returns its schema version. ``dest`` must not exist."""
    if dest.exists():
        raise FileExistsError(dest)
    with contextlib.closing(_connect(source)) as src:
        src.execute("PRAGMA query_only=ON")
        with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as out:
            src.backup(out)  # pages=-1: the whole database under one read transaction
            out.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            problems = [str(r[0]) for r in out.execute("PRAGMA quick_check")]
            version = int(out.execute("PRAGMA user_version").fetchone()[0])
    if problems != ["ok"]:
        raise sqlite3.DatabaseError(f"the copy fails its check: {'; '.join(problems)[:200]}")
    with dest.open("rb") as f:
        os.fsync(f.fileno())
    return version


def check(path: Path) -> tuple[int, list[str]]:
    """The schema version and ``quick_check`` findings of a database file (``[]``: sound)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        found = [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
    return version, [] if found == ["ok"] else found


def advance_sequences(path: Path, margin: int = SEQUENCE_MARGIN) -> None:
    """Moves the receipt and inbox counters of a restored database ``margin`` past their
    highest value (see the module docstring)."""
    with contextlib.closing(_connect(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        for table, column in (("receipts", "rseq"), ("inbox", "seq")):
            top = conn.execute(f"SELECT max({column}) FROM {table}").fetchone()[0] or 0
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                               (table,)).fetchone()
            start = max(int(top), int(row[0]) if row else 0) + margin
            if row is None:
                conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)",
                             (table, start))
            else:
                conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                             (start, table))
        conn.execute("COMMIT")
