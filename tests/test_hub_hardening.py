"""Hub items of issue 8 seen from the operator: fleet view, logs, the ``hub`` command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from gateway.hub.fleet import STALL_AFTER_MS, fleet
from gateway.hub.runtime import init_hub, serve_hub, wall_ms
from gateway.model import Directory
from gateway.store.db import Database
from gateway.store.hub.schema import HUB_MIGRATIONS
from tests.conftest import COMMUNE_A, COMMUNE_B, CliRunner
from tests.factories import envelope
from tests.security.hostile import Hub, sync_request


class Clock:
    """The hub's clock: real time (certificates are checked against it) plus a jump."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_ms() + self.offset_ms


@pytest_asyncio.fixture
async def hub(tmp_path: Path) -> AsyncIterator[tuple[Hub, Clock]]:
    clock = Clock()
    init_hub(tmp_path / "hub", "H35", Directory.sample(), ["127.0.0.1"])
    running = Hub(tmp_path / "hub", await serve_hub(tmp_path / "hub", clock=clock))
    try:
        for agency in (COMMUNE_A, COMMUNE_B):
            await running.enroll(agency, tmp_path / f"gw-{agency}")
        yield running, clock
    finally:
        await running.close()


async def test_item2_fleet_shows_a_box_that_syncs_but_takes_nothing_in(
        hub: tuple[Hub, Clock]) -> None:
    running, clock = hub
    a, b = running.peers[COMMUNE_A], running.peers[COMMUNE_B]
    env = envelope(COMMUNE_A, (COMMUNE_B,), attachments=())
    await a.sync(out=(env,))
    seq = (await b.sync()).inbox[0].seq  # fetched, never acknowledged (an unreadable reply)
    state = running.running.state
    health = {g.agency: g for g in await fleet(state)}[COMMUNE_B]
    assert health.online and not health.stalled and health.inbox_waiting == 1

    clock.offset_ms += STALL_AFTER_MS + 60_000
    await b.sync()  # it keeps syncing: online, yet nothing moves
    health = {g.agency: g for g in await fleet(state)}[COMMUNE_B]
    assert health.online and health.stalled and "stalled" in health.problems
    token = await running.token("admin", kind="admin")
    metrics = await running.anonymous.request("GET", "/metrics",
                                              headers={"Authorization": f"Bearer {token}"})
    assert f'gateway_stalled{{agency="{COMMUNE_B}"}} 1' in metrics.body.decode()
    listed = await running.anonymous.request("GET", "/v1/fleet",
                                             headers={"Authorization": f"Bearer {token}"})
    assert b'"stalled": true' in listed.body

    await b.sync(acks=(seq,))  # progress: healthy again
    health = {g.agency: g for g in await fleet(state)}[COMMUNE_B]
    assert not health.stalled and "stalled" not in health.problems


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.gone = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if "peer went away" in record.getMessage():
            self.gone.set()


async def test_low_peer_going_away_mid_request_is_one_log_line(
        hub: tuple[Hub, Clock]) -> None:
    running, _ = hub
    records = _Records()
    loggers = [logging.getLogger(n) for n in ("gateway", "aiohttp")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(records)
        lg.setLevel(logging.INFO)
    try:
        body = sync_request()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", running.running.port, ssl=running.peers[COMMUNE_A].ctx,
            server_hostname="127.0.0.1")
        writer.write(b"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sync-Dict: 0\r\n"
                     b"Content-Type: application/x-gateway-sync\r\nExpect: 100-continue\r\n"
                     + f"Content-Length: {len(body) + 5000}\r\n\r\n".encode())
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
        writer.write(body)  # the request is being handled: part of its body, then gone
        await writer.drain()
        writer.transport.abort()
        await asyncio.wait_for(records.gone.wait(), 10)
        server = running.running.runner.server
        assert server is not None
        async with asyncio.timeout(10):  # the handler's task ends after aiohttp's own logging
            while server.connections:  # noqa: ASYNC110 - aiohttp offers no event for this
                await asyncio.sleep(0.02)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(records)
            lg.setLevel(level)
    assert [r for r in records.records if r.exc_info] == []
    # One line about the peer that left (besides the access log's own line for the request).
    assert len([r for r in records.records if r.levelno >= logging.INFO
                and r.name != "gateway.hub.access"]) == 1


def test_low_revoking_an_agency_without_certificate_says_so(cli: CliRunner,
                                                            tmp_path: Path) -> None:
    data = str(tmp_path / "hub")
    assert cli("hub", "init", "--data", data, "--province", "H35").returncode == 0
    result = cli("hub", "revoke", "--data", data, "--agency", COMMUNE_B,
                 env={"GATEWAY_LANG": "en"})
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "no certificate" in result.stderr and "Traceback" not in result.stderr


async def test_hub_schema_upgrade_keeps_statuses(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    old = await Database.open(path, HUB_MIGRATIONS[:1])
    await old.write(lambda c: c.execute(
        "INSERT INTO statuses(sid, doc_id, agency, code, at_ms) VALUES ('s', 'd', 'a', '01', 1)"))
    await old.close()
    new = await Database.open(path, HUB_MIGRATIONS)
    try:
        rows = await new.read(lambda c: c.execute_fetchall(
            "SELECT agency, sid, doc_id, code, at_ms FROM statuses"))
        assert [tuple(r) for r in rows] == [("a", "s", "d", "01", 1)]
    finally:
        await new.close()

