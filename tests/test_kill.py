"""SIGKILL the hub and the gateway daemons at random moments during sync; nothing may be lost
or duplicated, and everything must finish after restarts. Real processes, real TLS."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.hub.enrollment import create_token
from gateway.hub.runtime import HubLayout, init_hub, open_hub
from gateway.linkemu import PROFILES, LinkProfile, LinkProxy
from gateway.model import Directory
from gateway.services.admin import init as init_gateway
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from gateway.sync.enroll import ca_fingerprint, enroll
from gateway.testbed.bed import wait_until
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.e2e_helpers import digest

KILLS = 24
LINK = PROFILES["adsl"].scaled(bandwidth=4, time=1.0)

# Real processes killed dozens of times: about a minute each; `make test-slow` (and CI) runs them.
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def listening(port: int) -> bool:
    """The hub process has bound its port (a fixed sleep was too short on a loaded machine)."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


class Processes:
    """The hub and the daemons as real processes that can be killed and started again."""

    def __init__(self, root: Path, hub_port: int, gateways: dict[str, Path]) -> None:
        self.root = root
        self.hub_port = hub_port
        self.gateways = gateways
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def command(self, name: str) -> list[str]:
        base = [sys.executable, "-m", "gateway.cli"]
        if name == "hub":
            return [*base, "hub", "run", "--data", str(self.root / "hub"),
                    "--listen", f"127.0.0.1:{self.hub_port}"]
        return [*base, "run", "--data", str(self.gateways[name])]

    def start(self, name: str) -> None:
        log = (self.root / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(self.command(name), stdout=log, stderr=log)
        log.close()

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@asynccontextmanager
async def province(root: Path, link: LinkProfile) -> AsyncIterator[Processes]:
    """A hub and both communes' daemons as real processes, enrolled, each commune behind its
    own emulated ``link``; everything stopped at the end."""
    hub_port = free_port()
    proxies = {a: LinkProxy("127.0.0.1", hub_port, link, seed=i)
               for i, a in enumerate((COMMUNE_A, COMMUNE_B))}
    for proxy in proxies.values():
        await proxy.start()
    procs = Processes(root, hub_port, {a: root / a for a in proxies})
    try:
        init_hub(root / "hub", "H35", Directory.sample(), ["127.0.0.1"])
        procs.start("hub")
        assert await wait_until(lambda: listening(hub_port), 30), "the hub never listened"
        await provision(root, hub_port, proxies)
        for agency in proxies:
            procs.start(agency)
        yield procs
    finally:
        procs.stop_all()
        for proxy in proxies.values():
            await proxy.stop()


async def provision(root: Path, hub_port: int, proxies: dict[str, LinkProxy]) -> None:
    state = await open_hub(root / "hub")
    try:
        tokens = {a: await create_token(state.store, a, timedelta(hours=1)) for a in proxies}
    finally:
        await state.store.db.close()
    fingerprint = ca_fingerprint(HubLayout(root / "hub").ca_cert.read_bytes())
    for agency, proxy in proxies.items():
        data = root / agency
        await init_gateway(str(data), agency, f"https://127.0.0.1:{proxy.port}", None)
        await enroll(data, agency, f"https://127.0.0.1:{hub_port}",
                     f"{tokens[agency]}@{fingerprint}")


async def queue(root: Path, sender: str, to: str, n: int, rng: random.Random) -> dict[str, str]:
    from gateway.services.send import SendRequest, send

    sent: dict[str, str] = {}
    for i in range(n):
        path = root / f"{sender}-{i}-{rng.randrange(10**9)}.pdf"
        path.write_bytes(rng.randbytes(rng.choice((5_000, 80_000, 400_000, 1_200_000))))
        doc_id = await send(SendRequest(
            data=str(root / sender), to=[to], subject=f"Văn bản {i}", number=f"{i}/UBND",
            doc_type="Công văn", urgency=rng.choice(("thuong", "hoa-toc")), due=None,
            secret=None, files=[str(path)]))
        sent[doc_id] = digest(path)
    return sent


async def inbox(root: Path, agency: str) -> dict[str, list[str]]:
    store = await LocalStore.open(Layout(root / agency), lambda: 0)
    try:
        return {d.envelope.id: [a.sha256 for a in d.envelope.attachments]
                for d in await store.list_documents("in")}
    finally:
        await store.close()


async def test_sigkill_hub_and_daemons_during_sync(tmp_path: Path) -> None:
    rng = random.Random(4242)
    async with province(tmp_path, LINK) as procs:
        to_b = await queue(tmp_path, COMMUNE_A, COMMUNE_B, 12, rng)
        to_a = await queue(tmp_path, COMMUNE_B, COMMUNE_A, 12, rng)
        for k in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            victim = rng.choice(["hub", COMMUNE_A, COMMUNE_B])
            procs.kill(victim)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            procs.start(victim)
            if k % 8 == 0:  # documents keep being queued while things die
                to_b |= await queue(tmp_path, COMMUNE_A, COMMUNE_B, 2, rng)

        async def finished() -> bool:
            got_b = await inbox(tmp_path, COMMUNE_B)
            got_a = await inbox(tmp_path, COMMUNE_A)
            return set(got_b) == set(to_b) and set(got_a) == set(to_a)

        assert await wait_until(finished, 240, poll_s=1.0), "not everything arrived"
    for agency, want in ((COMMUNE_B, to_b), (COMMUNE_A, to_a)):
        got = await inbox(tmp_path, agency)
        assert set(got) == set(want)
        store = await LocalStore.open(Layout(tmp_path / agency), lambda: 0)
        try:
            for doc_id, shas in got.items():
                assert shas == [want[doc_id]]
                assert store.blobs.verify(want[doc_id])
            assert await store.db.integrity_problems() == []
        finally:
            await store.close()
    state = await open_hub(tmp_path / "hub")
    try:
        rows = await state.store.db.read(lambda c: c.execute_fetchall(
            "SELECT recipient, doc_id, count(*) FROM inbox GROUP BY 1, 2"))
        assert all(int(r[2]) == 1 for r in rows)
        assert len(list(rows)) == len(to_a) + len(to_b)
    finally:
        await state.store.db.close()
