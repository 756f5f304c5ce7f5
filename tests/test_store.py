from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from gateway.model import Refused, State
from gateway.store.blobs import BlobError, BlobStore
from gateway.store.db import Conn, Database, Migration, SchemaTooNew
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from tests.factories import attachment, envelope


def test_blob_put_is_content_addressed_and_stored_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    sha, size = store.put_bytes(b"hello")
    again, _ = store.put_bytes(b"hello")
    assert sha == again == hashlib.sha256(b"hello").hexdigest() and size == 5
    assert store.all_digests() == [sha]
    assert store.verify(sha)
    assert list(store.tmp.iterdir()) == []


def test_blob_export_verifies(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    sha, _ = store.put_bytes(b"x" * 1000)
    store.export(sha, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"x" * 1000
    store.path(sha).write_bytes(b"y" * 1000)  # bit rot on the SD card
    with pytest.raises(BlobError):
        store.export(sha, tmp_path / "bad.bin")
    assert not (tmp_path / "bad.bin").exists()
    report = store.scrub([sha, "0" * 64])
    assert report.corrupt == [sha] and report.missing == ["0" * 64] and not report.ok


def test_paths_never_come_from_untrusted_names(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63, ""):
        with pytest.raises(BlobError):
            store.path(bad)


def test_partial_upload_resumes_and_verifies(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    data = bytes(range(256)) * 100
    sha = hashlib.sha256(data).hexdigest()
    with store.open_partial(sha, 0) as f:
        f.write(data[:1000])
    assert store.partial_size(sha) == 1000
    with pytest.raises(BlobError):
        store.open_partial(sha, 10)
    with store.open_partial(sha, 1000) as f:
        f.write(data[1000:])
    assert store.finish_partial(sha) and store.has(sha)
    wrong = hashlib.sha256(b"other").hexdigest()
    with store.open_partial(wrong, 0) as f:
        f.write(b"not it")
    assert not store.finish_partial(wrong) and not store.has(wrong)
    assert store.partial_size(wrong) == 0


def test_cleanup_removes_crash_leftovers(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    (store.tmp / "deadbeef").write_bytes(b"half")
    assert store.cleanup_tmp() == 1


async def test_migrations_are_ordered_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    steps = (Migration(1, ("CREATE TABLE a(x)",)), Migration(2, ("CREATE TABLE b(y)",)))
    async with await Database.open(path, steps[:1]):
        pass
    async with await Database.open(path, steps) as db:
        await db.write(lambda c: c.execute("INSERT INTO b VALUES (1)"))
    async with await Database.open(path, steps) as db:
        rows = await db.read(lambda c: c.execute_fetchall("SELECT count(*) FROM b"))
        assert next(iter(rows))[0] == 1
    with pytest.raises(SchemaTooNew):
        await Database.open(path, steps[:1])
    with pytest.raises(ValueError):
        await Database.open(path, (Migration(2, ()),))


async def test_failed_write_rolls_back(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "t.db", (Migration(1, ("CREATE TABLE a(x)",)),)) \
            as db:
        async def tx(conn: Conn) -> None:
            await conn.execute("INSERT INTO a VALUES (1)")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await db.write(tx)
        rows = await db.read(lambda c: c.execute_fetchall("SELECT count(*) FROM a"))
        assert next(iter(rows))[0] == 0
        assert await db.integrity_problems() == []


@pytest.mark.parametrize("steps", [1, 2, 3])
async def test_a_cancelled_transaction_never_stays_open(tmp_path: Path, steps: int) -> None:
    """A request cancelled while its BEGIN waits in the connection's thread (a client gone,
    a shutdown) must not leave that transaction open: every later write on the hub failed with
    "cannot start a transaction within a transaction", and a reader kept its old snapshot."""
    async with await Database.open(tmp_path / "t.db", (Migration(1, ("CREATE TABLE a(x)",)),)) \
            as db:
        async def insert(conn: Conn) -> None:
            await conn.execute("INSERT INTO a VALUES (1)")

        async def count(conn: Conn) -> int:
            rows = await conn.execute_fetchall("SELECT count(*) FROM a")
            return int(next(iter(rows))[0])

        for run in (db.write(insert), db.read(count)):
            task = asyncio.ensure_future(run)
            for _ in range(steps):  # 1: waiting for BEGIN; later: inside or after the body
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await db.write(insert)  # raised OperationalError before the fix
        assert await db.read(count) in (1, 2)  # the cancelled insert may have committed
        async with aiosqlite.connect(tmp_path / "t.db") as other:
            await other.execute("INSERT INTO a VALUES (2)")
            await other.commit()
        assert await db.read(count) in (2, 3)  # a fresh snapshot, not one left open


async def open_store(tmp_path: Path) -> LocalStore:
    return await LocalStore.open(Layout(tmp_path / "gw"), lambda: 1_000)


async def test_queue_list_show_and_event_log(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    try:
        sha, size = store.blobs.put_bytes(b"%PDF-1.7 test")
        env = envelope(recipients=("000.00.32.H35", "000.00.33.H35"),
                       attachments=(attachment(),))
        assert env.attachments[0].sha256 == sha and env.attachments[0].size == size
        await store.queue_document(env)
        docs = await store.list_documents("out")
        assert [d.envelope for d in docs] == [env]
        doc = await store.document(env.id)
        assert {d.state for d in doc.deliveries} == {State.QUEUED}
        assert doc.queue_state == "pending"
        events = await store.events(env.id)
        assert [e.kind for e in events] == ["queued"]
        assert await store.list_documents("in") == []
        with pytest.raises(sqlite3.IntegrityError):
            await store.db.write(lambda c: c.execute("DELETE FROM events"))
        with pytest.raises(sqlite3.IntegrityError):
            await store.db.write(lambda c: c.execute("UPDATE events SET kind = 'x'"))
        with pytest.raises(Refused):
            await store.document("nope")
        with pytest.raises(Refused):
            await store.retry(env.id)  # not dead
    finally:
        await store.close()


async def test_dead_letter_retry(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    try:
        env = envelope()
        await store.queue_document(env)
        await store.db.write(lambda c: c.execute(
            "UPDATE outbound SET state='dead', last_error='refused' WHERE doc_id=?", (env.id,)))
        await store.retry(env.id)
        doc = await store.document(env.id)
        assert doc.queue_state == "pending" and doc.last_error == ""
        assert [e.kind for e in await store.events(env.id)] == ["queued", "retry"]
    finally:
        await store.close()
