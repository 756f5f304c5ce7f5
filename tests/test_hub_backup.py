"""Hub backup and restore, end to end: a real hub syncing with two real gateways is backed up,
restored into a fresh folder and serves both again, nothing lost or duplicated."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from gateway.hub.runtime import serve_hub
from gateway.linkemu import PROFILES, LinkProxy
from gateway.model import State
from gateway.services.documents import mark
from gateway.services.hub_backup import backup
from gateway.services.hub_restore import restore
from gateway.store.db import Conn
from gateway.store.hub.backup import SEQUENCE_MARGIN
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import assert_delivered_exactly_once, digest, senders_saw_delivery

# ADSL without its cuts, 6x faster: a dozen documents take a few seconds to cross, so the
# backup lands in the middle of the traffic.
LINK = PROFILES["adsl"].scaled(bandwidth=6, time=0)
PAIR = (COMMUNE_A, COMMUNE_B)


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql))


async def _send_batch(tb: Testbed, tmp: Path, rng: random.Random, n: int, tag: str,
                      expected: dict[str, set[str]], files: dict[str, str]) -> None:
    for i in range(n):
        sender = PAIR[i % 2]
        other = PAIR[1 - i % 2]
        path = tmp / f"{tag}{i}.txt"
        path.write_bytes(rng.randbytes(rng.choice((30_000, 80_000, 160_000))))
        doc_id = await tb.send(sender, [other], [path])
        files[doc_id] = digest(path)
        expected[other].add(doc_id)


@pytest.mark.slow  # ~20 s of real syncing over emulated links: make test-slow
async def test_backup_while_syncing_restores_a_hub_that_serves_both(tmp_path: Path) -> None:
    rng = random.Random(14)
    tb = Testbed(tmp_path / "province", LINK, seed=2, wait_s=2)
    await tb.start(PAIR)
    hub_dir = tmp_path / "province" / "hub"
    try:
        expected: dict[str, set[str]] = {a: set() for a in PAIR}
        files: dict[str, str] = {}
        await _send_batch(tb, tmp_path, rng, 12, "a", expected, files)

        async def some_arrived() -> bool:
            return sum([len(await tb.inbox(a)) for a in PAIR]) >= 2

        assert await wait_until(some_arrived, 60, poll_s=0.05)

        # 1. Under live load: backups run back to back while the hub keeps committing; each
        # is one consistent snapshot whose every referenced blob is in it.
        assert tb.hub is not None
        db = hub_dir / "hub.sqlite3"
        before = _rows(db, "SELECT count(*) FROM receipts")
        committed = False
        for _ in range(40):
            live = await asyncio.to_thread(backup, hub_dir, tmp_path / "backups-live", 2)
            held = {str(r[0]) for r in _rows(
                live.path / "hub.sqlite3",
                "SELECT h.sha256 FROM blob_holders h JOIN doc_blobs b ON b.sha256 = h.sha256")}
            assert held <= {p.name for p in (live.path / "blobs").glob("*/*")}
            assert _rows(live.path / "hub.sqlite3", "PRAGMA quick_check") == [("ok",)]
            if committed := _rows(db, "SELECT count(*) FROM receipts") != before:
                break
            await asyncio.sleep(0.05)
        assert committed, "the hub committed nothing while it was being backed up"
        assert len(list((tmp_path / "backups-live").glob("hub-*"))) <= 2  # --keep 2

        # 2. The hub dies right after tonight's backup, taken mid-traffic. Its writer is
        # held for the moment of the backup and the links are cut before it is let go, so
        # no box ever hears of a commit made after the snapshot (what a dead hub does).
        ports = {a: n.proxy.port for a, n in tb.nodes.items()}

        async def backup_then_die(conn: Conn) -> Path:
            result = await asyncio.to_thread(backup, hub_dir, tmp_path / "backups")
            for node in tb.nodes.values():
                await node.proxy.stop()
            return result.path

        taken = await tb.hub.state.store.db.write(backup_then_die)
        arrived = sum([len(await tb.inbox(a)) for a in PAIR])
        assert arrived < 12, "the backup was not taken mid-traffic"
        await tb.stop_hub()

        # 3. Restored into a fresh folder, on the same port; the links come back.
        restored = tmp_path / "restored-hub"
        result = await asyncio.to_thread(restore, tmp_path / "backups", restored)
        assert result.source == taken
        tb.hub = await serve_hub(restored, port=tb.hub_port)
        for i, (agency, node) in enumerate(tb.nodes.items()):
            node.proxy = LinkProxy("127.0.0.1", tb.hub_port, LINK, seed=i,
                                   listen_port=ports[agency])
            await node.proxy.start()
        await _send_batch(tb, tmp_path, rng, 4, "b", expected, files)

        async def all_arrived() -> bool:
            for agency, want in expected.items():
                if {d.envelope.id for d in await tb.inbox(agency)} != want:
                    return False
            return await senders_saw_delivery(tb)

        assert await wait_until(all_arrived, 120), "not everything arrived after the restore"
        await assert_delivered_exactly_once(tb, expected, files, tmp_path / "export")
        for sha in files.values():  # the restored hub's copies too
            assert digest(restored / "blobs" / sha[:2] / sha) == sha

        # 4. Receipts continue: a status recorded now reaches the sender, numbered past the
        # counters of the lost hours.
        doc = sorted(expected[COMMUNE_B])[0]
        await mark(str(tb.nodes[COMMUNE_B].data), doc, "03", "")
        tb.gateway(COMMUNE_B).client.wake()

        async def sender_saw_03() -> bool:
            out = {d.envelope.id: d for d in await tb.outbox(COMMUNE_A)}
            return out[doc].deliveries[0].state is State.ACCEPTED

        assert await wait_until(sender_saw_03, 30)
        (top,) = _rows(restored / "hub.sqlite3", "SELECT max(rseq) FROM receipts")
        assert isinstance(top[0], int) and top[0] > SEQUENCE_MARGIN
    finally:
        await tb.stop()
