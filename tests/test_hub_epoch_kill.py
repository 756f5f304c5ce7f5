"""The runbook's restore with real processes, and the daemons SIGKILLed while they offer the
lost hours again: in the end the restored hub holds everything, each document reached each
recipient once, and no box is left with an open offer. Real hub and daemons, real TLS."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from gateway.linkemu import PROFILES
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import digest, gw
from tests.test_kill import inbox, province, queue

LINK = PROFILES["adsl"].scaled(bandwidth=4, time=1.0)
KILLS = 10

# Real processes killed again and again: about a minute; `make test-slow` (and CI) runs it.
pytestmark = pytest.mark.slow


def _hub_rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{root / 'hub' / 'hub.sqlite3'}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql))


async def _open_offers(root: Path, agency: str) -> int:
    store = await LocalStore.open(Layout(root / agency), lambda: 0)
    try:
        rows = await store.db.read(lambda c: c.execute_fetchall(
            "SELECT (SELECT count(*) FROM reoffered)"
            " + (SELECT count(*) FROM outbound WHERE state != 'done')"))
        return int(next(iter(rows))[0])
    finally:
        await store.close()


async def test_sigkill_daemons_while_they_offer_a_restored_hub_its_lost_hours(
        tmp_path: Path) -> None:
    rng = random.Random(1414)
    async with province(tmp_path, LINK) as procs:
        to_b = await queue(tmp_path, COMMUNE_A, COMMUNE_B, 3, rng)
        to_a = await queue(tmp_path, COMMUNE_B, COMMUNE_A, 3, rng)

        async def arrived() -> bool:
            return set(await inbox(tmp_path, COMMUNE_B)) == set(to_b) and \
                set(await inbox(tmp_path, COMMUNE_A)) == set(to_a)

        assert await wait_until(arrived, 120, poll_s=1.0)
        rc, _, err = await gw("hub", "backup", "--data", str(tmp_path / "hub"),
                              "--to", str(tmp_path / "backups"))
        assert rc == 0, err
        to_b |= await queue(tmp_path, COMMUNE_A, COMMUNE_B, 4, rng)
        to_a |= await queue(tmp_path, COMMUNE_B, COMMUNE_A, 4, rng)
        assert await wait_until(arrived, 180, poll_s=1.0)

        # The runbook: stop the hub, restore over its folder, start it.
        procs.kill("hub")
        rc, out, err = await gw("hub", "restore", "--from", str(tmp_path / "backups"),
                                "--data", str(tmp_path / "hub"), "--force")
        assert rc == 0 and "Kỷ nguyên mới" in out, err
        known = {str(r[0]) for r in _hub_rows(tmp_path, "SELECT id FROM documents")}
        assert not (set(to_a) | set(to_b)) <= known, "the restore lost nothing"
        procs.start("hub")
        for _ in range(KILLS):  # the boxes die again and again while they offer
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            victim = rng.choice([COMMUNE_A, COMMUNE_B])
            procs.kill(victim)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            procs.start(victim)

        async def settled() -> bool:
            whole = {str(r[0]) for r in _hub_rows(
                tmp_path, "SELECT id FROM documents WHERE complete_ms IS NOT NULL")}
            acked = _hub_rows(tmp_path, "SELECT count(*) FROM inbox WHERE acked_ms IS NULL")
            return whole >= set(to_a) | set(to_b) and acked == [(0,)] and \
                not await _open_offers(tmp_path, COMMUNE_A) and \
                not await _open_offers(tmp_path, COMMUNE_B)

        assert await wait_until(settled, 240, poll_s=1.0), "the lost hours never came back"
    assert await arrived()
    rows = _hub_rows(tmp_path, "SELECT recipient, doc_id FROM inbox")
    assert Counter((str(r[0]), str(r[1])) for r in rows) == Counter(
        [(COMMUNE_B, d) for d in to_b] + [(COMMUNE_A, d) for d in to_a])
    for agency in (COMMUNE_A, COMMUNE_B):
        store = await LocalStore.open(Layout(tmp_path / agency), lambda: 0)
        try:
            got = await store.db.read(lambda c: c.execute_fetchall(
                "SELECT doc_id, count(*) FROM events WHERE kind = 'received' GROUP BY 1"))
            assert all(int(r[1]) == 1 for r in got)
            assert await store.db.integrity_problems() == []
        finally:
            await store.close()
    for sha in set(to_a.values()) | set(to_b.values()):
        path = tmp_path / "hub" / "blobs" / sha[:2] / sha
        assert path.is_file() and digest(path) == sha
