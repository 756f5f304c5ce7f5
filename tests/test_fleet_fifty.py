"""Fifty simulated boxes in every state: /v1/fleet, /metrics and the /fleet page (in headless
Chromium) each classify every one of them correctly."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from gateway import __version__
from gateway.hub.runtime import HubLayout, RunningHub
from gateway.security.tls import client_context
from tests import fleet_sim
from tests.security.hostile import Peer
from tests.test_hub_metrics import samples

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                                    "(Debian 'chromium'; .ci/run installs it)")


class Province:
    def __init__(self, hub: RunningHub, token: str, root: Path) -> None:
        self.hub, self.token, self.root = hub, token, root
        self.boxes = fleet_sim.province(50)
        self.url = f"https://127.0.0.1:{hub.port}"
        self.client = Peer(self.url, client_context(HubLayout(root).ca_cert), None)

    async def get(self, path: str) -> str:
        reply = await self.client.request("GET", path,
                                          headers={"Authorization": f"Bearer {self.token}"})
        assert reply.status == 200, reply.body[:200]
        return reply.body.decode()


@pytest_asyncio.fixture
async def province(tmp_path: Path) -> AsyncIterator[Province]:
    hub, _, token = await fleet_sim.start(tmp_path / "hub", fleet_sim.province(50))
    running = Province(hub, token, tmp_path / "hub")
    try:
        yield running
    finally:
        await running.client.close()
        await hub.close()


def test_the_simulated_province_has_every_kind() -> None:
    boxes = fleet_sim.province(50)
    assert len(boxes) == 50 and {b.kind for b in boxes} == set(fleet_sim.KINDS)


async def test_fleet_json_classifies_every_box(province: Province) -> None:
    fleet = {g["agency"]: g for g in json.loads(await province.get("/v1/fleet"))["gateways"]}
    for box in province.boxes:
        g = fleet[box.agency]
        assert g["state"] == box.state, (box, g["problems"])
        assert (g["problems"][:1] == [box.problem]) if box.problem else g["problems"] == [], box


async def test_metrics_classify_every_box(province: Province) -> None:
    text = await province.get("/metrics")
    series = {name: samples(text, name) for name in (
        "gateway_ever_seen", "gateway_online", "gateway_stalled", "gateway_corrupt_blobs",
        "gateway_disk_free_bytes", "gateway_clock_skew_seconds",
        "gateway_dead_letter_documents", "gateway_version_info")}
    for box in province.boxes:
        key = f'{{agency="{box.agency}"}}'
        expect = {
            "gateway_ever_seen": "0" if box.kind == "never" else "1",
            "gateway_online": "0" if box.kind in ("never", "silent") else "1",
        }
        if box.kind != "never":
            expect |= {
                "gateway_stalled": "1" if box.kind == "behind" else "0",
                "gateway_corrupt_blobs": "2" if box.kind == "corrupt" else "0",
                "gateway_clock_skew_seconds": "600" if box.kind == "skewed" else "0",
                "gateway_dead_letter_documents": "1" if box.kind == "dead" else "0",
            }
            disk_low = int(series["gateway_disk_free_bytes"][key]) < 500 * 2**20
            assert disk_low == (box.kind == "disk"), box
            version = "0.0.9" if box.kind == "old" else __version__
            assert series["gateway_version_info"][
                f'{{agency="{box.agency}",version="{version}"}}'] == "1"
        else:
            assert key not in series["gateway_disk_free_bytes"]
        for name, value in expect.items():
            assert series[name].get(key) == value, (box, name)


async def chromium(*args: str, profile: Path) -> str:
    assert CHROMIUM is not None
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        # The test checks the page, not the PKI (tests/security does): the hub's certificate
        # is under the test's own CA, which this throwaway profile does not know.
        "--ignore-certificate-errors", f"--user-data-dir={profile}",
        "--virtual-time-budget=8000", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0
    return out.decode()


def cards(dom: str) -> list[tuple[str, str, str]]:
    """(agency, state, state line) of each card, in page order."""
    found = re.findall(r'<div class="box (\w+)" data-agency="([^"]+)" data-state="\w+">'
                       r'.*?<div class="state">([^<]*)</div>', dom, re.S)
    return [(agency, state, html.unescape(line)) for state, agency, line in found]


@needs_chromium
async def test_fleet_page_shows_every_box_worst_first(province: Province,
                                                       tmp_path: Path) -> None:
    page = f"{province.url}/fleet#token={province.token}"
    dom = await chromium("--dump-dom", page, profile=tmp_path / "profile")
    shown = cards(dom)
    assert len(shown) == 50
    by_agency = {a: (s, line) for a, s, line in shown}
    words = {"never connected": "Chưa từng kết nối", "offline": "Mất kết nối",
             "stalled": "Kẹt", "corrupt blobs": "Tệp hỏng", "disk low": "Sắp hết dung lượng",
             "clock skew": "Lệch giờ", "dead letters": "Văn bản không gửi được",
             "version drift": "Khác phiên bản"}
    label = {"critical": "NGUY CẤP", "warning": "CẦN XEM", "ok": "BÌNH THƯỜNG"}
    for box in province.boxes:
        state, line = by_agency[box.agency]
        assert state == box.state and line.startswith(label[box.state]), (box, line)
        if box.problem:
            assert line.startswith(f"{label[box.state]}: {words[box.problem]}"), (box, line)
    rank = [{"critical": 0, "warning": 1, "ok": 2}[s] for _, s, _ in shown]
    assert rank == sorted(rank)  # worst first
    n = {s: sum(1 for b in province.boxes if b.state == s) for s in label}
    assert (f"50 xã — {n['critical']} nguy cấp, {n['warning']} cần xem, {n['ok']} bình thường"
            in html.unescape(dom))
    assert "HubUnavailable: connection reset" in dom  # a silent box's last error
    shot = tmp_path / "fleet.png"
    await chromium(f"--screenshot={shot}", "--window-size=412,1400", "--hide-scrollbars",
                   page, profile=tmp_path / "profile2")
    assert shot.stat().st_size > 10_000  # a phone-sized rendering (a person looked at one)


@needs_chromium
async def test_fleet_page_without_token_asks_for_one(province: Province,
                                                     tmp_path: Path) -> None:
    dom = await chromium("--dump-dom", f"{province.url}/fleet", profile=tmp_path / "p")
    assert '<form id="login">' in dom and "Cần đăng nhập" in html.unescape(dom)
    assert cards(dom) == [] and province.boxes[1].agency not in dom
