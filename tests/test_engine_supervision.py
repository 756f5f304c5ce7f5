"""Supervised workers: a failure a worker expects is handled and delivery goes on; anything
else ends the engine at once, and the daemon logs why in one line and exits non-zero."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from gateway.logs import OneLine
from gateway.sync.daemon import supervise
from gateway.testbed.fake_hub import Kind
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import Box, advancing, open_box
from tests.factories import attachment, envelope


def inbound(box: Box, seq: int = 1) -> tuple[str, str]:
    """Puts a document for the box in the fake hub's inbox; (doc id, blob digest)."""
    payload = os.urandom(20_000)
    sha = hashlib.sha256(payload).hexdigest()
    env = envelope(COMMUNE_B, (COMMUNE_A,), attachments=(attachment("den.pdf", payload),),
                   now_ms=box.time.clock())
    box.hub.deliver(seq, env, {sha: payload})
    return env.id, sha


async def test_unexpected_error_in_a_download_worker_ends_run(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    _, sha = inbound(box)
    box.hub.fault(sha, Kind.CRASH, error=sqlite3.OperationalError("disk I/O error"))
    try:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
            await asyncio.wait_for(box.client.run(box.stop), 1.0)
    finally:
        await box.store.close()


async def test_daemon_exits_non_zero_with_the_reason_in_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The failure of the issue: the download workers' own SQL fails."""
    box = await open_box(tmp_path)
    inbound(box)
    with contextlib.closing(sqlite3.connect(box.layout.db)) as other:
        other.execute("DROP TABLE inbound_pending")
    caplog.set_level(logging.ERROR, "gateway.sync")
    try:
        assert await asyncio.wait_for(supervise(box.client, box.layout, box.stop), 1.0) == 1
    finally:
        await box.store.close()
    (record,) = caplog.records
    line = OneLine(journal=True).format(record)
    assert "sync engine failed" in line and "OperationalError" in line
    assert "inbound_pending" in line and "\n" not in line and line.startswith("<3>")


async def test_expected_failures_are_handled_and_delivery_goes_on(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    doc_id, sha = inbound(box)
    box.hub.fault(sha, Kind.FAULT, status=503)
    box.start()
    try:
        async def failed_twice() -> bool:  # the worker backs off and tries again: not dead
            return sum(c.outcome == "fault" for c in box.hub.calls) >= 2

        await advancing(box, failed_twice)
        box.hub.heal(sha)

        async def arrived() -> bool:
            return [d.envelope.id for d in await box.store.list_documents("in")] == [doc_id]

        await advancing(box, arrived)
        assert box.task is not None and not box.task.done()
    finally:
        await box.close()
