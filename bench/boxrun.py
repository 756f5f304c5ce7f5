"""One real box against a real hub through the link emulator, for the footprint benchmarks.

The gateway runs as its own ``gateway run`` process (what systemd starts on the box), so its
/proc figures hold nothing of the benchmark; the hub and the link proxy live in the benchmark
process. The box is enrolled the way an installer enrolls one (a token from the hub), then
started; :func:`box_against_hub` yields once the hub has seen its first sync.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gateway.hub.enrollment import create_token
from gateway.hub.runtime import HubLayout, RunningHub, init_hub, serve_hub
from gateway.linkemu import LinkProfile, LinkProxy
from gateway.model import Directory
from gateway.services.admin import init as init_gateway
from gateway.sync.enroll import ca_fingerprint, enroll

A, B = "000.00.31.H35", "000.00.32.H35"


@dataclass
class BoxRun:
    hub: RunningHub
    proxy: LinkProxy
    proc: asyncio.subprocess.Process
    data: Path
    log: Path


async def _synced(hub: RunningHub, agency: str) -> bool:
    rows = await hub.state.store.db.read(lambda c: c.execute_fetchall(
        "SELECT 1 FROM gateways WHERE agency = ?", (agency,)))
    return bool(list(rows))


@asynccontextmanager
async def box_against_hub(work: Path, profile: LinkProfile) -> AsyncIterator[BoxRun]:
    hub_dir, data, log = work / "hub", work / "gw-A", work / "gateway-run.log"
    init_hub(hub_dir, "H35", Directory.sample(), ["127.0.0.1", "localhost"])
    hub = await serve_hub(hub_dir)
    proxy = LinkProxy("127.0.0.1", hub.port, profile)
    await proxy.start()
    proc: asyncio.subprocess.Process | None = None
    try:
        await init_gateway(str(data), A, f"https://127.0.0.1:{proxy.port}", None)
        token = await create_token(hub.state.store, A, timedelta(days=1))
        fingerprint = ca_fingerprint(HubLayout(hub_dir).ca_cert.read_bytes())
        await enroll(data, A, f"https://127.0.0.1:{hub.port}", f"{token}@{fingerprint}")
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "run", "--data", str(data),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while not await _synced(hub, A):
            if time.monotonic() > deadline or proc.returncode is not None:
                raise RuntimeError(f"gateway run never synced; see {log}")
            await asyncio.sleep(0.2)
        yield BoxRun(hub, proxy, proc, data, log)
    finally:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await proxy.stop()
        await hub.close()
