"""SQLite access with one writer, ordered migrations and durable commits.

One connection owns all writes, each inside ``BEGIN IMMEDIATE`` (the datasette pattern), so
a transaction never fails half-way on a lock upgrade; readers use their own connection and see
a consistent WAL snapshot. ``synchronous=FULL`` because a commit may acknowledge a document to
a clerk or to the hub: after a power cut it must still be there.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import aiosqlite

from gateway.errors import StoreError
from gateway.model.errors import Refused, database_damaged, database_unavailable

T = TypeVar("T")
Conn = aiosqlite.Connection


@dataclass(frozen=True)
class Migration:
    """One schema step; ``version`` numbers are dense and applied in order exactly once."""

    version: int
    statements: tuple[str, ...]


class SchemaTooNew(StoreError):
    pass


def open_refusal(path: Path, exc: sqlite3.Error) -> Refused:
    """A one-line reason for a database that cannot be opened: damaged, or out of reach."""
    damaged = isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.OperationalError)
    return Refused((database_damaged if damaged else database_unavailable)(path, str(exc)))


async def _connect(path: Path, *, readonly: bool) -> Conn:
    """A configured connection. Each aiosqlite connection owns a non-daemon thread, so one
    that fails half-way is closed here: left open, it would keep the process alive forever."""
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=30.0)
    try:
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            await conn.execute(pragma)
        if readonly:
            await conn.execute("PRAGMA query_only=ON")
    except BaseException:
        await conn.close()
        raise
    return conn


class Database:
    def __init__(self, path: Path, writer: Conn, reader: Conn) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, migrations: Sequence[Migration]) -> Database:
        """Opens both connections, or raises :class:`Refused` (damaged or unreachable file)
        with every connection already closed."""
        try:
            writer = await _connect(path, readonly=False)
        except sqlite3.Error as exc:
            raise open_refusal(path, exc) from None
        try:
            await _migrate(writer, migrations)
            reader = await _connect(path, readonly=True)
        except sqlite3.Error as exc:
            await writer.close()
            raise open_refusal(path, exc) from None
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def write(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Runs ``fn`` in one immediate transaction; an exception rolls everything back."""
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                result = await fn(self._writer)
            except BaseException:
                await _end(self._writer, "ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
            return result

    async def read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Runs ``fn`` against one consistent snapshot."""
        async with self._read_lock:
            try:
                await self._reader.execute("BEGIN")
                return await fn(self._reader)
            finally:
                await _end(self._reader, "COMMIT")

    async def ping(self) -> None:
        """A trivial query: the database answers (a cheap health check, unlike quick_check)."""
        async with self._read_lock:
            await self._reader.execute_fetchall("SELECT 1")

    def size_bytes(self) -> int:
        """The database file and its write-ahead log, as they are on disk now."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    async def integrity_problems(self) -> list[str]:
        async with self._read_lock:
            rows = await self._reader.execute_fetchall("PRAGMA quick_check")
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _migrate(conn: Conn, migrations: Sequence[Migration]) -> None:
    expected = list(range(1, len(migrations) + 1))
    if [m.version for m in migrations] != expected:
        raise ValueError("migrations must be numbered 1..N in order")
    await conn.execute("BEGIN IMMEDIATE")
    try:
        row = await (await conn.execute("PRAGMA user_version")).fetchone()
        current = int(row[0]) if row else 0
        if current > len(migrations):
            raise SchemaTooNew(f"database schema {current} is newer than this program")
        for migration in migrations[current:]:
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={migration.version}")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def _end(conn: Conn, statement: str) -> None:
    """Ends a transaction, even one whose ``BEGIN`` was cancelled while it waited: the
    connection's thread runs statements in order, so this one comes after that BEGIN, which
    runs anyway. With no transaction open (a BEGIN that failed) there is nothing to end."""
    with contextlib.suppress(sqlite3.OperationalError):
        await conn.execute(statement)
