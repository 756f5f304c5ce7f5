"""A hub restored from last night's backup gets back what the boxes sent after it.

A real hub and two real gateways on loopback (through the link emulator): documents and
statuses flow, a backup is taken, more documents and statuses flow and are confirmed to their
senders, one box goes offline with a document waiting for it at the hub, and the hub dies. It
is restored from the backup into a fresh folder and started on the same address, its clock
three days on. The box still online offers its lost documents again at once; the offline one
comes back two days later and does the same. In the end the restored hub holds every document
(byte-identical blobs) and every status, each recipient got each document exactly once (one
document row and one arrival in its log), and each sender sees the state it saw before. The hub
is then restored a second time from the same backup, and everything comes back again.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from gateway.hub.runtime import serve_hub, wall_ms
from gateway.linkemu import PROFILES
from gateway.model import State
from gateway.services.documents import mark
from gateway.services.hub_backup import backup
from gateway.services.hub_restore import restore
from gateway.store.hub.backup import SEQUENCE_MARGIN
from gateway.store.reoffer import REOFFERED
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import assert_delivered_exactly_once, digest

LINK = PROFILES["adsl"].scaled(bandwidth=20, time=0)
PAIR = (COMMUNE_A, COMMUNE_B)
DAY_MS = 24 * 3600_000


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql))


class World:
    """The two boxes' documents as the test expects them, and the hub's clock."""

    def __init__(self, tb: Testbed, tmp: Path) -> None:
        self.tb, self.tmp = tb, tmp
        self.rng = random.Random(140)
        self.expected: dict[str, set[str]] = {a: set() for a in PAIR}
        self.files: dict[str, str] = {}
        self.sender: dict[str, str] = {}

    async def send(self, sender: str, n: int, tag: str) -> list[str]:
        other = PAIR[1 - PAIR.index(sender)]
        ids = []
        for i in range(n):
            path = self.tmp / f"{tag}-{sender}-{i}.bin"
            path.write_bytes(self.rng.randbytes(self.rng.choice((20_000, 60_000))))
            doc_id = await self.tb.send(sender, [other], [path])
            self.files[doc_id], self.sender[doc_id] = digest(path), sender
            self.expected[other].add(doc_id)
            ids.append(doc_id)
        return ids

    async def sender_sees(self, want: dict[str, State]) -> bool:
        """Every listed document's delivery has reached its state at its (running) sender."""
        for agency in PAIR:
            if self.tb.nodes[agency].gateway is None:
                continue
            for doc in await self.tb.outbox(agency):
                goal = want.get(doc.envelope.id)
                if goal is not None and doc.deliveries[0].state is not goal:
                    return False
        return True

    async def settled(self, hub: Path, want: dict[str, State]) -> bool:
        """The restored hub holds every document whole, and the boxes are done offering."""
        done = {str(r[0]) for r in _rows(hub / "hub.sqlite3",
                "SELECT id FROM documents WHERE complete_ms IS NOT NULL")}
        if not set(self.files) <= done or not await self.sender_sees(want):
            return False
        for agency in PAIR:
            store = self.tb.gateway(agency).store
            left = await store.db.read(lambda c: c.execute_fetchall(
                "SELECT (SELECT count(*) FROM reoffered) + (SELECT count(*) FROM status_out)"
                " + (SELECT count(*) FROM outbound WHERE state != 'done')"))
            if int(next(iter(left))[0]):
                return False
        return {d.envelope.id for d in await self.tb.inbox(COMMUNE_B)} == self.expected[
            COMMUNE_B] and {d.envelope.id for d in await self.tb.inbox(COMMUNE_A)} == \
            self.expected[COMMUNE_A]

    async def check(self, hub: Path) -> None:
        """Nothing lost, nothing twice, blobs byte-identical, every status at the hub."""
        await assert_delivered_exactly_once(self.tb, self.expected, self.files,
                                            self.tmp / f"export-{hub.name}")
        for doc_id, sha in self.files.items():
            assert digest(hub / "blobs" / sha[:2] / sha) == sha, doc_id
        for agency in PAIR:
            store = self.tb.gateway(agency).store
            arrivals = await store.db.read(lambda c: c.execute_fetchall(
                "SELECT doc_id FROM events WHERE kind = 'received'"))
            assert all(n == 1 for n in Counter(str(r[0]) for r in arrivals).values()), agency
            sent = await store.db.read(lambda c: c.execute_fetchall(
                "SELECT sid FROM status_sent"))
            at_hub = {str(r[0]) for r in _rows(
                hub / "hub.sqlite3", f"SELECT sid FROM statuses WHERE agency = '{agency}'")}
            assert {str(r[0]) for r in sent} <= at_hub, agency
        rows = _rows(hub / "hub.sqlite3",
                     "SELECT recipient, doc_id, acked_ms IS NOT NULL FROM inbox")
        assert Counter((str(r[0]), str(r[1])) for r in rows) == Counter(
            (a, d) for a, docs in self.expected.items() for d in docs)
        assert all(r[2] for r in rows), "an inbox entry is not acknowledged"


@pytest.mark.slow  # ~20 s of real syncing over emulated links: make test-slow
async def test_boxes_offer_again_what_a_restored_hub_lost(tmp_path: Path) -> None:
    shift = [0]
    tb = Testbed(tmp_path / "province", LINK, seed=3, wait_s=2,
                 hub_clock=lambda: wall_ms() + shift[0])
    await tb.start(PAIR)
    w = World(tb, tmp_path)
    try:
        # Last night: documents both ways, arrived (01) and kept in the backup.
        early = await w.send(COMMUNE_A, 1, "early") + await w.send(COMMUNE_B, 1, "early")
        want = dict.fromkeys(early, State.RECEIVED)
        assert await wait_until(lambda: w.sender_sees(want), 60)
        taken = await asyncio.to_thread(backup, tmp_path / "province" / "hub",
                                        tmp_path / "backups")

        # Today: more documents and a clerk's status, all confirmed to their senders...
        late = await w.send(COMMUNE_A, 2, "late") + await w.send(COMMUNE_B, 2, "late")
        want |= dict.fromkeys(late, State.RECEIVED)
        marked = early[0]  # A's, kept by the backup; B's status on it is not
        await mark(str(tb.nodes[COMMUNE_B].data), marked, "03", "")
        want[marked] = State.ACCEPTED
        tb.gateway(COMMUNE_B).client.wake()
        assert await wait_until(lambda: w.sender_sees(want), 90)
        # ...then B goes offline, and a document for it waits at the hub.
        await tb.stop_gateway(COMMUNE_B)
        (waiting,) = await w.send(COMMUNE_A, 1, "waiting")
        assert await wait_until(lambda: w.sender_sees({waiting: State.AT_HUB}), 60)
        epoch_1 = str(_rows(tmp_path / "province" / "hub" / "hub.sqlite3",
                            "SELECT value FROM kv WHERE key = 'epoch'")[0][0])

        # The hub dies; restored from the backup, three days later, on the same address.
        await tb.stop_hub()
        first = tmp_path / "restored-1"
        result = await asyncio.to_thread(restore, taken.path, first)
        assert result.epoch != epoch_1
        lost = set(late) | {waiting}
        held = {str(r[0]) for r in _rows(first / "hub.sqlite3", "SELECT id FROM documents")}
        assert not lost & held and set(early) <= held, "the backup was not last night's"
        shift[0] = 3 * DAY_MS
        tb.hub = await serve_hub(first, port=tb.hub_port, clock=tb.hub_clock)

        # A, online, offers its lost documents again at once, and its clerk sees it.
        async def a_done() -> bool:
            whole = {str(r[0]) for r in _rows(first / "hub.sqlite3",
                     "SELECT id FROM documents WHERE complete_ms IS NOT NULL")}
            return {d for d in lost if w.sender[d] == COMMUNE_A} <= whole

        assert await wait_until(a_done, 60)
        for doc_id in lost:
            if w.sender[doc_id] == COMMUNE_A:
                events = await tb.gateway(COMMUNE_A).store.events(doc_id)
                assert REOFFERED in {e.kind for e in events}

        # B comes back two days later: it offers its own again and gets what waited.
        shift[0] = 5 * DAY_MS
        await tb.start_gateway(COMMUNE_B)
        want[waiting] = State.RECEIVED
        assert await wait_until(lambda: w.settled(first, want), 120), "not settled"
        await w.check(first)
        # The documents the backup kept were offered again too, and accepted without being
        # routed twice: their inbox entries are the old ones; the lost ones were routed anew.
        for doc_id in early:
            events = await tb.gateway(w.sender[doc_id]).store.events(doc_id)
            assert REOFFERED in {e.kind for e in events}
        seqs = {str(r[0]): int(str(r[1])) for r in _rows(first / "hub.sqlite3",
                                                         "SELECT doc_id, seq FROM inbox")}
        assert all(seqs[d] < SEQUENCE_MARGIN for d in early)
        assert all(seqs[d] > SEQUENCE_MARGIN for d in lost)

        # Bad luck again: the hub is restored a second time from the same backup.
        await tb.stop_hub()
        second = tmp_path / "restored-2"
        again = await asyncio.to_thread(restore, taken.path, second)
        assert again.epoch not in (epoch_1, result.epoch)
        tb.hub = await serve_hub(second, port=tb.hub_port, clock=tb.hub_clock)
        for agency in PAIR:
            tb.gateway(agency).client.wake()
        assert await wait_until(lambda: w.settled(second, want), 120), "not settled twice"
        await w.check(second)
    finally:
        await tb.stop()
