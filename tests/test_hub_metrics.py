"""Hub ``/metrics`` and ``/healthz`` as the IT team's Prometheus and load balancer see them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from gateway import __version__
from gateway.hub.exposition import Exposition, number
from gateway.hub.runtime import HubLayout, RunningHub
from gateway.security.tls import client_context
from tests import fleet_sim
from tests.security.hostile import Peer

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed "
                                    "(Debian 'prometheus'; .ci/run installs it)")


class Running:
    def __init__(self, hub: RunningHub, clock: fleet_sim.Clock, token: str, root: Path,
                 boxes: list[fleet_sim.Box]) -> None:
        self.hub, self.clock, self.token, self.boxes = hub, clock, token, boxes
        self.url = f"https://127.0.0.1:{hub.port}"
        self.client = Peer(self.url, client_context(HubLayout(root).ca_cert), None)

    async def get(self, path: str, *, admin: bool = True) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if admin else {}
        reply = await self.client.request("GET", path, headers=headers)
        return reply.status, reply.body.decode()


@pytest_asyncio.fixture
async def province(tmp_path: Path) -> AsyncIterator[Running]:
    boxes = fleet_sim.province(12)
    hub, clock, token = await fleet_sim.start(tmp_path / "hub", boxes)
    running = Running(hub, clock, token, tmp_path / "hub", boxes)
    try:
        yield running
    finally:
        await running.client.close()
        await hub.close()


def samples(text: str, name: str) -> dict[str, str]:
    """``{labels: value}`` of one metric family in an exposition."""
    return {m[1] or "": m[2] for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M)}


def promtool_check(text: str) -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_numbers_are_exact() -> None:
    assert [number(v) for v in (1_234_567, 1_234_568, 2**62, 0, -3)] == [
        "1234567", "1234568", "4611686018427387904", "0", "-3"]
    assert number(0.1) == "0.1" and number(1.5e-7) == "1.5e-07" and number(True) == "1"
    out = Exposition()
    out.family("x_total", "counter", "X.", [({"k": 'a"b\\c\nd' + "z" * 500}, 7)])
    line = out.text().splitlines()[-1]
    assert line.startswith('x_total{k="a\\"b\\\\c\\nd') and len(line) < 200


async def test_counter_above_a_million_is_printed_exactly(province: Running) -> None:
    province.hub.state.requests["sync"] = 1_234_567
    province.hub.state.lost_bytes = 9_876_543_210
    status, text = await province.get("/metrics")
    assert status == 200
    assert 'gateway_hub_requests_total{kind="sync"} 1234567\n' in text
    assert "gateway_hub_upload_lost_bytes_total 9876543210\n" in text
    province.hub.state.requests["sync"] += 1
    assert 'gateway_hub_requests_total{kind="sync"} 1234568\n' in (await province.get(
        "/metrics"))[1]
    assert not re.search(r" \d\.\d+e\+\d+$", text, re.M)  # no %g anywhere


@needs_promtool
async def test_promtool_accepts_the_metrics(province: Running) -> None:
    promtool_check((await province.get("/metrics"))[1])


async def test_every_directory_agency_has_a_series(province: Running) -> None:
    text = (await province.get("/metrics"))[1]
    ever, online = samples(text, "gateway_ever_seen"), samples(text, "gateway_online")
    last_seen = samples(text, "gateway_last_seen_timestamp_seconds")
    for box in province.boxes:
        key = f'{{agency="{box.agency}"}}'
        assert ever[key] == ("0" if box.kind == "never" else "1"), box
        assert online[key] == ("0" if box.kind in ("never", "silent") else "1"), box
        assert (key in last_seen) == (box.kind != "never"), box  # no made-up zero
    versions = samples(text, "gateway_version_info")
    old = next(b for b in province.boxes if b.kind == "old")
    assert versions[f'{{agency="{old.agency}",version="0.0.9"}}'] == "1"
    assert f'gateway_hub_version_info{{version="{__version__}"}} 1' in text


async def test_hub_reports_its_own_disk_database_and_certificates(province: Running) -> None:
    text = (await province.get("/metrics"))[1]
    assert int(samples(text, "gateway_hub_disk_free_bytes")[""]) > 0
    assert int(samples(text, "gateway_hub_database_bytes")[""]) > 4096
    expiry = samples(text, "gateway_hub_certificate_expiry_timestamp_seconds")
    now_s = province.clock() // 1000
    assert set(expiry) == {'{certificate="ca"}', '{certificate="server"}'}
    assert all(int(v) > now_s + 30 * 86400 for v in expiry.values())


async def test_last_error_and_dead_letters_reach_fleet_and_metrics(province: Running) -> None:
    silent = next(b for b in province.boxes if b.kind == "silent")
    dead = next(b for b in province.boxes if b.kind == "dead")
    text = (await province.get("/metrics"))[1]
    assert samples(text, "gateway_last_error_info") == {
        f'{{agency="{b.agency}",class="HubUnavailable"}}': "1"
        for b in province.boxes if b.kind == "silent"}
    assert samples(text, "gateway_dead_letter_documents")[f'{{agency="{dead.agency}"}}'] == "1"
    fleet = {g["agency"]: g for g in json.loads((await province.get("/v1/fleet"))[1])["gateways"]}
    assert fleet[silent.agency]["last_error"] == "HubUnavailable: connection reset"
    assert fleet[dead.agency]["dead"] == 1 and "dead letters" in fleet[dead.agency]["problems"]


async def test_healthz_is_cheap_and_the_deep_check_needs_the_token(province: Running) -> None:
    assert await province.get("/healthz", admin=False) == (200, "ok\n")
    assert (await province.get("/v1/health/deep", admin=False))[0] == 401
    assert await province.get("/v1/health/deep") == (200, "ok\n")
