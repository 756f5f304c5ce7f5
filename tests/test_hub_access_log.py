"""The hub's access log against a real hub on loopback: one line per request with method,
path, status, time and the caller's agency, and never a body, a token or a query string."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from gateway.hub.runtime import HubLayout
from gateway.security.tls import client_context
from tests.conftest import COMMUNE_A, run_gateway
from tests.security.hostile import Hub, Peer

MISSING = "ab" * 32
QUERY_SECRET = "query-secret-7f3a"


async def test_one_line_per_request_with_agency_and_no_secrets(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.hub.access")
    hub = await Hub.start(tmp_path / "hub")
    try:
        enroll_token = await hub.token(COMMUNE_A)  # a second one, sent in a body below
        peer = await hub.enroll(COMMUNE_A, tmp_path / "gw")  # GET /v1/ca, POST /v1/enroll
        await peer.sync()
        head = await peer.request("HEAD", f"/v1/blobs/{MISSING}", params={"q": QUERY_SECRET})
        admin = await hub.token("admin", kind="admin")
        fleet = await hub.anonymous.request("GET", "/v1/fleet",
                                            headers={"Authorization": f"Bearer {admin}"})
        refused = await hub.anonymous.request(
            "POST", "/v1/enroll", body=b'{"token": "%s"}' % enroll_token.encode())
    finally:
        await hub.close()  # every handler, and so every access-log call, has finished
    assert fleet.status == 200 and refused.status >= 400
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.hub.access"]
    assert all(r.levelno == logging.INFO for r in caplog.records
               if r.name == "gateway.hub.access")
    expected = [
        ("-", "GET", "/v1/ca", "200"),
        ("-", "POST", "/v1/enroll", "200"),
        (COMMUNE_A, "POST", "/v1/sync", "200"),
        (COMMUNE_A, "HEAD", f"/v1/blobs/{MISSING}", str(head.status)),
        ("-", "GET", "/v1/fleet", "200"),
        ("-", "POST", "/v1/enroll", str(refused.status)),
    ]
    assert len(lines) == len(expected), lines
    for line, (agency, method, path, status) in zip(lines, expected, strict=True):
        shape = (rf"127\.0\.0\.1 {re.escape(agency)} {method} {re.escape(path)} {status} "
                 rf"\d+B \d+ms")
        assert re.fullmatch(shape, line), line
    text = "\n".join(lines)
    for secret in (QUERY_SECRET, admin, enroll_token, "token", "?"):
        assert secret not in text


async def test_hub_run_logs_requests_at_the_level_asked(tmp_path: Path) -> None:
    """``gateway hub run --log-level info`` writes the access log to stderr, one line each,
    with the level in the line; ``warning`` keeps it quiet."""
    root = tmp_path / "hub"
    assert run_gateway("hub", "init", "--data", str(root), "--province", "H35").returncode == 0
    anonymous = Peer("", client_context(HubLayout(root).ca_cert), None)
    logged: dict[str, list[str]] = {}
    for level in ("info", "warning"):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "hub", "run", "--data", str(root),
            "--listen", "127.0.0.1:0", "--log-level", level,
            env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        anonymous.base = "https://" + banner.rsplit("https://", 1)[1].strip()
        assert (await anonymous.request("GET", "/healthz")).status == 200
        await anonymous.close()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
        logged[level] = err.decode().splitlines()
    access = [line for line in logged["info"] if "gateway.hub.access" in line]
    assert len(access) == 1, logged["info"]
    assert re.search(r" INFO gateway\.hub\.access: 127\.0\.0\.1 - GET /healthz 200 \d+B \d+ms$",
                     access[0]), access
    assert not [line for line in logged["warning"] if "gateway.hub.access" in line]
