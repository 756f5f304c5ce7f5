"""A commune's box dies; its replacement enrolls with ``--restore`` and gets the commune's
recent documents back, both ways, with their statuses; the hub's fleet view says what the dead
box never sent."""

from __future__ import annotations

import asyncio
import html
import random
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.hub.enrollment import create_token, revoke
from gateway.hub.fleet import fleet
from gateway.hub.runtime import HubLayout
from gateway.linkemu import PROFILES, LinkProfile, LinkProxy
from gateway.model import State
from gateway.services.box_restore import restore_box
from gateway.services.documents import mark
from gateway.sync.enroll import ca_fingerprint
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import digest, gw, senders_saw_delivery
from tests.test_fleet_fifty import CHROMIUM, chromium

LAN = PROFILES["lan"]
CRAWL = PROFILES["adsl"].scaled(bandwidth=0.1, time=0)  # 6 KB/s up: 400 KB take a minute



async def _relink(tb: Testbed, agency: str, profile: LinkProfile) -> None:
    node = tb.nodes[agency]
    port = node.proxy.port
    await node.proxy.stop()
    node.proxy = LinkProxy("127.0.0.1", _hub_port(tb), profile, listen_port=port)
    await node.proxy.start()


def _hub_port(tb: Testbed) -> int:
    assert tb.hub is not None
    return tb.hub.port


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.mark.slow  # ~20 s of real syncing over emulated links: make test-slow
async def test_a_wiped_box_gets_its_documents_and_statuses_back(tmp_path: Path) -> None:
    rng = random.Random(5)
    tb = Testbed(tmp_path / "province", LAN, seed=1, wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B))
    hub_db = tmp_path / "province" / "hub" / "hub.sqlite3"
    try:
        files: dict[str, str] = {}
        received: list[str] = []
        sent: list[str] = []
        for i in range(5):
            sender, to = (COMMUNE_A, COMMUNE_B) if i < 3 else (COMMUNE_B, COMMUNE_A)
            path = tmp_path / f"doc{i}.txt"
            path.write_bytes(rng.randbytes(20_000 + 5_000 * i))
            doc = await tb.send(sender, [to], [path])
            files[doc] = digest(path)
            (received if to == COMMUNE_B else sent).append(doc)
        assert await wait_until(lambda: senders_saw_delivery(tb), 30)
        # B's clerk works on two of them; A sees it.
        b_data = tb.nodes[COMMUNE_B].data
        await mark(str(b_data), received[0], "03", "")
        await mark(str(b_data), received[1], "03", "")
        await mark(str(b_data), received[1], "06", "xong")
        tb.gateway(COMMUNE_B).client.wake()

        async def a_saw_statuses() -> bool:
            out = {d.envelope.id: d.deliveries[0].state for d in await tb.outbox(COMMUNE_A)}
            return out[received[0]] is State.ACCEPTED and out[received[1]] is State.DONE

        assert await wait_until(a_saw_statuses, 30)

        # The old box's link crawls; the clerk sends one more document, which the hub knows of
        # (heartbeat: 1 queued) but never gets whole.
        await _relink(tb, COMMUNE_B, CRAWL)
        big = tmp_path / "bao-cao.txt"
        big.write_bytes(rng.randbytes(400_000))
        await tb.send(COMMUNE_B, [COMMUNE_A], [big])
        assert tb.hub is not None
        hub = tb.hub

        async def hub_knows_it_waits() -> bool:
            return any(g.agency == COMMUNE_B and g.queue >= 1 for g in await fleet(hub.state))

        assert await wait_until(hub_knows_it_waits, 30)

        # The SD card dies. The IT team revokes it and gives the technician a new token.
        await tb.stop_gateway(COMMUNE_B)
        shutil.rmtree(b_data)
        await _relink(tb, COMMUNE_B, LAN)
        assert await revoke(hub.state.store, COMMUNE_B) == 1
        token = await create_token(hub.state.store, COMMUNE_B, timedelta(hours=1))
        fingerprint = ca_fingerprint(HubLayout(tmp_path / "province" / "hub").ca_cert
                                     .read_bytes())
        before = {t: _count(hub_db, t) for t in ("inbox", "statuses", "documents")}
        code, out, err = await gw("init", "--data", str(b_data), "--agency", COMMUNE_B,
                                  "--hub", tb.url(tb.nodes[COMMUNE_B]),
                                  "--token", f"{token}@{fingerprint}", "--restore", "30")
        assert code == 0, err
        assert "3 văn bản đến và 2 văn bản đi" in out, out
        await tb.start_gateway(COMMUNE_B)

        async def all_back() -> bool:
            inbox = {d.envelope.id: d for d in await tb.inbox(COMMUNE_B)}
            store = tb.gateway(COMMUNE_B).store
            blobs = all(store.blobs.has(s) for s in files.values())
            return set(inbox) == set(received) and blobs

        assert await wait_until(all_back, 30), "the new box did not get everything back"
        inbox = {d.envelope.id: d for d in await tb.inbox(COMMUNE_B)}
        assert [inbox[d].inbox_status for d in received] == [State.ACCEPTED, State.DONE,
                                                         State.RECEIVED]
        outbox = {d.envelope.id: d for d in await tb.outbox(COMMUNE_B)}
        assert set(outbox) == set(sent)  # the unsent one died with the card
        assert all(d.deliveries[0].state is State.RECEIVED for d in outbox.values())
        store = tb.gateway(COMMUNE_B).store
        (tmp_path / "export").mkdir()
        for doc, sha in files.items():
            target = tmp_path / "export" / doc
            store.blobs.export(sha, target)
            assert digest(target) == sha
        # Nothing was sent again or counted twice at the hub, and asking again adds nothing.
        await asyncio.sleep(1.0)  # a few syncs of the new box (wait_s=1)
        after = {t: _count(hub_db, t) for t in ("inbox", "statuses", "documents")}
        assert after == before
        again = await restore_box(str(b_data), 30)
        assert (again.received, again.sent) == (0, 0)

        # The fleet view: what the dead box never sent.
        entry = next(g for g in await fleet(hub.state) if g.agency == COMMUNE_B)
        assert entry.old_box_unsent == 1
        assert entry.old_box_note == "1 văn bản chưa gửi được trên hộp cũ"
        assert "unsent on old box" in entry.problems
        if CHROMIUM is not None:  # and the /fleet page a person opens
            admin = await create_token(hub.state.store, "admin", timedelta(hours=1),
                                       kind="admin")
            dom = html.unescape(await chromium(
                "--dump-dom", f"https://127.0.0.1:{hub.port}/fleet#token={admin}",
                profile=tmp_path / "chromium"))
            assert "Hộp cũ" in dom and "1 văn bản chưa gửi được trên hộp cũ" in dom
            assert "Văn bản kẹt trên hộp cũ" in dom
    finally:
        await tb.stop()
