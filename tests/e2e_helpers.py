"""Shared checks for end-to-end tests: exactly once and byte-identical, seen from the stores."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections import Counter
from pathlib import Path

from gateway.model import State
from gateway.testbed import Testbed


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def inbox_ids(tb: Testbed, agency: str) -> Counter[str]:
    return Counter(d.envelope.id for d in await tb.inbox(agency))


async def assert_delivered_exactly_once(
    tb: Testbed, expected: dict[str, set[str]], files: dict[str, str], out_dir: Path
) -> None:
    """``expected`` maps recipient → document ids; ``files`` maps document id → sha256."""
    for agency, want in expected.items():
        got = await inbox_ids(tb, agency)
        assert set(got) == want, f"{agency}: missing {want - set(got)}, extra {set(got) - want}"
        assert all(n == 1 for n in got.values()), f"{agency}: duplicates {got}"
        store = tb.gateway(agency).store
        for doc in await tb.inbox(agency):
            for att in doc.envelope.attachments:
                target = out_dir / agency / doc.envelope.id / att.name
                target.parent.mkdir(parents=True, exist_ok=True)
                store.blobs.export(att.sha256, target)
                assert digest(target) == files[doc.envelope.id] == att.sha256


async def senders_saw_delivery(tb: Testbed) -> bool:
    for agency in tb.nodes:
        for doc in await tb.outbox(agency):
            if any(d.state in (State.QUEUED, State.UPLOADING, State.AT_HUB)
                   for d in doc.deliveries):
                return False
    return True


async def gw(*args: str) -> tuple[int, str, str]:
    """The real ``gateway`` command in Vietnamese, without blocking the event loop of a hub
    running in the test's own process; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "GATEWAY_LANG": "vi"})
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
