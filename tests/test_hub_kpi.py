"""Provincial KPIs: a hub whose documents were issued, delivered and marked 03/06 at chosen
moments of its clock, some left past their due date, gives exact numbers through /v1/kpi,
``gateway hub report`` (table and CSV) and the fleet page (headless Chromium)."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from gateway.hub.enrollment import create_token
from gateway.hub.runtime import HubLayout, RunningHub, init_hub, serve_hub
from gateway.hub.status_policy import store_statuses
from gateway.model import Directory
from gateway.model.document import VN_TZ
from gateway.protocol.wire import StatusMsg
from gateway.security.tls import client_context
from gateway.store.hub.documents import HubStore
from tests.conftest import run_gateway
from tests.factories import envelope
from tests.security.hostile import Peer
from tests.test_fleet_fifty import chromium, needs_chromium

OFFICE, XA_A, XA_B, IDLE = "000.00.01.H35", "000.00.10.H35", "000.00.11.H35", "000.00.12.H35"
HOUR_S = 3600


def at(day: str, hhmm: str) -> int:
    """A moment of the hub's clock, written in Vietnamese time."""
    h, m = map(int, hhmm.split(":"))
    return int(datetime.combine(date.fromisoformat(day), datetime.min.time(), VN_TZ)
               .replace(hour=h, minute=m).timestamp() * 1000)


class Clock:
    def __init__(self) -> None:
        self.now = at("2024-02-01", "08:00")

    def __call__(self) -> int:
        return self.now


class History:
    """Writes what the sync handler would have written, each step at its own moment."""

    def __init__(self, store: HubStore, clock: Clock) -> None:
        self.store, self.clock, self.n = store, clock, 0

    async def issue(self, when: int, sender: str, to: tuple[str, ...], due: str) -> str:
        self.clock.now = when
        env = dataclasses.replace(envelope(sender, to, attachments=(), now_ms=when),
                                  issue_date=date(2024, 2, 1), due_date=date.fromisoformat(due))
        assert (await self.store.accept(sender, [(env, None)])).accepted == (env.id,)
        return env.id

    async def arrive(self, when: int, agency: str, doc: str) -> None:
        self.clock.now = when
        seqs = [i.seq for i in await self.store.inbox(agency) if i.env.id == doc]
        assert await self.store.ack(agency, seqs)

    async def mark(self, when: int, agency: str, doc: str, code: str) -> None:
        self.clock.now = when
        self.n += 1
        done = await store_statuses(self.store, agency,
                                    [StatusMsg(f"s{self.n}", doc, code, "", when)])
        assert done.stored == 1, done


async def make_history(store: HubStore, clock: Clock) -> None:
    h = History(store, clock)
    # February: issued and arrived before the period; due in March and never finished.
    d0 = await h.issue(at("2024-02-27", "10:00"), OFFICE, (XA_A,), due="2024-03-02")
    await h.arrive(at("2024-02-28", "09:00"), XA_A, d0)
    # To both communes: A takes it in 2 h and finishes in 24 h, before its due day ends;
    # B takes it in 36 min and never finishes (overdue).
    d1 = await h.issue(at("2024-03-02", "08:00"), OFFICE, (XA_A, XA_B), due="2024-03-05")
    await h.arrive(at("2024-03-02", "09:00"), XA_A, d1)
    await h.arrive(at("2024-03-02", "10:00"), XA_B, d1)
    await h.mark(at("2024-03-02", "10:36"), XA_B, d1, "03")
    await h.mark(at("2024-03-02", "11:00"), XA_A, d1, "03")
    await h.mark(at("2024-03-03", "09:00"), XA_A, d1, "06")
    # Commune A to the office: 03 after 1 h, 06 after 48 h, past the end of its due day.
    d2 = await h.issue(at("2024-03-10", "08:00"), XA_A, (OFFICE,), due="2024-03-11")
    await h.arrive(at("2024-03-10", "08:30"), OFFICE, d2)
    await h.mark(at("2024-03-10", "09:30"), OFFICE, d2, "03")
    await h.mark(at("2024-03-12", "08:30"), OFFICE, d2, "06")
    # Due after the period: 03 after 4 h, not overdue.
    d3 = await h.issue(at("2024-03-20", "08:00"), OFFICE, (XA_A,), due="2024-04-10")
    await h.arrive(at("2024-03-20", "12:00"), XA_A, d3)
    await h.mark(at("2024-03-20", "16:00"), XA_A, d3, "03")
    # Never taken in by B's box, and past due.
    await h.issue(at("2024-03-24", "08:00"), OFFICE, (XA_B,), due="2024-03-25")
    clock.now = at("2024-03-31", "23:30")


# March 2024, per agency: issued, arrived, reached 03, avg to 03 (s), reached 06,
# avg to 06 (s), overdue. No PDF here carries a signature: signed 0, the share 0 where
# anything was issued and unknown where nothing was.
MARCH = {
    OFFICE: (3, 1, 1, 1 * HOUR_S, 1, 48 * HOUR_S, 1),
    XA_A: (1, 2, 2, 3 * HOUR_S, 1, 24 * HOUR_S, 1),
    XA_B: (0, 1, 1, 36 * 60, 0, None, 2),
    IDLE: (0, 0, 0, None, 0, None, 0),
    "total": (4, 4, 4, 114 * 60, 2, 36 * HOUR_S, 4),  # 7 h 36 min / 4 to 03; 72 h / 2 to 06
}
FIELDS = ("issued", "arrived", "reached_03", "avg_to_03_s", "reached_06", "avg_to_06_s",
          "overdue")


class Province:
    def __init__(self, hub: RunningHub, root: Path, token: str) -> None:
        self.hub, self.root, self.token = hub, root, token
        self.url = f"https://127.0.0.1:{hub.port}"
        self.client = Peer(self.url, client_context(HubLayout(root).ca_cert), None)

    async def get(self, path: str, token: str | None = None) -> tuple[int, str]:
        reply = await self.client.request(
            "GET", path, headers={"Authorization": f"Bearer {token or self.token}"})
        return reply.status, reply.body.decode()


@pytest_asyncio.fixture
async def province(tmp_path: Path) -> AsyncIterator[Province]:
    root = tmp_path / "hub"
    names = {OFFICE: "Văn phòng UBND tỉnh", XA_A: "UBND xã Bản Lang", XA_B: "UBND xã Nậm Xe",
             IDLE: "UBND xã Mù Sang"}
    init_hub(root, "H35", Directory.from_json(json.dumps(
        {"agencies": [{"code": c, "name": n} for c, n in names.items()]}), source="test"),
        ["127.0.0.1"])
    clock = Clock()
    hub = await serve_hub(root, clock=clock)
    try:
        await make_history(hub.state.store, clock)
        token = await create_token(hub.state.store, "admin", timedelta(hours=1), kind="admin")
        running = Province(hub, root, token)
        yield running
        await running.client.close()
    finally:
        await hub.close()


def by_unit(report: dict[str, object]) -> dict[str, tuple[object, ...]]:
    units = report["units"]
    assert isinstance(units, list)
    out = {u["agency"]: tuple(u[f] for f in FIELDS) for u in units}
    total = report["total"]
    assert isinstance(total, dict)
    out["total"] = tuple(total[f] for f in FIELDS)
    return out


async def test_kpi_json_gives_exact_numbers_for_the_period(province: Province) -> None:
    status, body = await province.get("/v1/kpi?from=2024-03-01&to=2024-04-01")
    assert status == 200, body
    report = json.loads(body)
    assert by_unit(report) == MARCH
    assert (report["from"], report["to"], report["timezone"]) == ("2024-03-01", "2024-04-01",
                                                                  "UTC+7")
    assert report["from_ms"] == at("2024-03-01", "00:00")
    for unit in [*report["units"], report["total"]]:
        assert unit["signed"] == 0
        assert unit["signed_share"] == (0.0 if unit["issued"] else None)
    # The default period is the hub clock's month so far: March again.
    assert by_unit(json.loads((await province.get("/v1/kpi"))[1])) == MARCH


async def test_kpi_another_period_and_bad_requests(province: Province) -> None:
    status, body = await province.get("/v1/kpi?from=2024-02-01&to=2024-03-01")
    feb = by_unit(json.loads(body))
    assert feb[OFFICE][0] == 1 and feb[XA_A][1] == 1 and feb["total"][6] == 0  # due in March
    for query in ("from=2024-3-01", "from=2024-03-01&to=2024-03-01", "to=yesterday",
                  "from=2024-02-30"):
        status, body = await province.get(f"/v1/kpi?{query}")
        assert status == 400 and "date" in body, (query, body)
    status, _ = await province.get("/v1/kpi", token="wrong")
    assert status == 401


async def test_hub_report_prints_a_table_and_csv(province: Province) -> None:
    # The report reads the data directory while the hub serves, as an admin would run it.
    period = ("--from", "2024-03-01", "--to", "2024-04-01")
    done = run_gateway("hub", "report", "--data", str(province.root), *period, "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0]) == ["agency", "name", *FIELDS[:1], "signed", "signed_share",
                             *FIELDS[1:]]
    got = {r["agency"]: tuple(r[f] for f in FIELDS) for r in rows}
    assert got == {a: tuple("" if v is None else str(v) for v in vals)
                   for a, vals in MARCH.items()}
    assert {r["signed"] for r in rows} == {"0"}
    assert {r["agency"]: r["signed_share"] for r in rows} == {
        a: "0.0" if vals[0] else "unknown" for a, vals in MARCH.items()}
    assert rows[0]["name"] == "Văn phòng UBND tỉnh"

    done = run_gateway("hub", "report", "--data", str(province.root), *period)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "từ ngày 2024-03-01 đến trước ngày 2024-04-01" in done.stdout
    assert re.fullmatch(r"000\.00\.10\.H35\s+1\s+0 \(0,0%\)\s+2\s+3 giờ 00 phút \(2\)\s+"
                        r"24 giờ 00 phút \(1\)\s+1\s+UBND xã Bản Lang", lines[XA_A])
    assert re.fullmatch(r"Tổng cộng\s+4\s+0 \(0,0%\)\s+4\s+1 giờ 54 phút \(4\)\s+"
                        r"36 giờ 00 phút \(2\)\s+4", lines["Tổng"])
    assert re.search(r"000\.00\.11\.H35\s+0\s+0\s+1\s+36 phút \(1\)\s+—\s+2\s",
                     lines[XA_B])
    assert "2 ngày 0 giờ (1)" in lines[OFFICE]

    bad = run_gateway("hub", "report", "--data", str(province.root), "--from", "2024-04-01",
                      "--to", "2024-03-01")
    assert bad.returncode == 1 and "trước ngày kết thúc" in bad.stderr


@needs_chromium
async def test_fleet_page_shows_the_kpis(province: Province, tmp_path: Path) -> None:
    dom = html.unescape(await chromium("--dump-dom", f"{province.url}/fleet#token="
                                       f"{province.token}", profile=tmp_path / "profile"))
    assert "Từ ngày 2024-03-01 đến trước ngày 2024-04-01 (UTC+7)" in dom
    rows = re.findall(r'<tr(?: class="total")? data-agency="([^"]+)">(.*?)</tr>', dom, re.S)
    cells = {a: re.findall(r"<td>([^<]*)</td>", body) for a, body in rows}
    assert [a for a, _ in rows] == ["total", XA_B, OFFICE, XA_A]  # most overdue first
    assert cells["total"] == ["Tổng cộng", "4", "0 (0,0%)", "4", "1 giờ 54 phút (4)",
                              "36 giờ 00 phút (2)", "4"]
    assert cells[XA_A] == ["UBND xã Bản Lang (000.00.10.H35)", "1", "0 (0,0%)", "2",
                           "3 giờ 00 phút (2)", "24 giờ 00 phút (1)", "1"]
    assert cells[XA_B][4:] == ["36 phút (1)", "—", "2"]
    assert cells[OFFICE][5] == "2 ngày 0 giờ (1)"
    assert IDLE not in dom.split('id="kpi"')[1]  # no activity: not listed
