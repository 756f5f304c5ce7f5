"""Gateway daemon footprint: resident memory idle and while uploading, CPU seconds per MiB.

The gateway runs as its own ``gateway run`` process (what systemd starts on the box), so its
/proc figures hold nothing of the benchmark: the hub and the link proxy live in this process.
The link is the emulator's "lan" profile (no shaping), so the transfer is CPU-bound: that is
the worst case for CPU per MiB and for memory (the frame pacer grows frames to 1 MiB).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from bench.procstat import ProcSample, sample
from gateway.hub.enrollment import create_token
from gateway.hub.runtime import HubLayout, init_hub, serve_hub
from gateway.linkemu import PROFILES, LinkProxy
from gateway.model import Directory
from gateway.services.admin import init as init_gateway
from gateway.services.send import SendRequest, send
from gateway.sync.enroll import ca_fingerprint, enroll

A, B = "000.00.31.H35", "000.00.32.H35"
SAMPLE_S = 0.1


async def measure(work: Path, files: Sequence[Path], *, idle_s: float, cap_s: float,
                  say: Callable[[str], None]) -> dict[str, object]:
    hub_dir, data = work / "hub", work / "gw-A"
    init_hub(hub_dir, "H35", Directory.sample(), ["127.0.0.1", "localhost"])
    hub = await serve_hub(hub_dir)
    proxy = LinkProxy("127.0.0.1", hub.port, PROFILES["lan"])
    await proxy.start()
    proc: asyncio.subprocess.Process | None = None
    try:
        await init_gateway(str(data), A, f"https://127.0.0.1:{proxy.port}", None)
        token = await create_token(hub.state.store, A, timedelta(days=1))
        fingerprint = ca_fingerprint(HubLayout(hub_dir).ca_cert.read_bytes())
        await enroll(data, A, f"https://127.0.0.1:{hub.port}", f"{token}@{fingerprint}")
        store = hub.state.store
        with (work / "gateway-run.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "run", "--data", str(data),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)

        async def seen() -> bool:
            rows = await store.db.read(lambda c: c.execute_fetchall(
                "SELECT 1 FROM gateways WHERE agency = ?", (A,)))
            return bool(list(rows))

        deadline = time.monotonic() + 30
        while not await seen():
            if time.monotonic() > deadline or proc.returncode is not None:
                raise RuntimeError(f"gateway run never synced; see {work / 'gateway-run.log'}")
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # let start-up settle (first long-poll in place)
        pid = proc.pid
        idle: list[ProcSample] = []
        t_idle = time.monotonic()
        while time.monotonic() - t_idle < idle_s:
            idle.append(sample(pid))
            await asyncio.sleep(0.5)
        idle.append(sample(pid))
        idle_cpu = (idle[-1].cpu_s - idle[0].cpu_s) / (time.monotonic() - t_idle)

        total = sum(p.stat().st_size for p in files)
        before, busy = sample(pid), []
        t0 = time.monotonic()
        ids = []
        for path in files:
            ids.append(await send(SendRequest(
                data=str(data), to=[B], subject="V/v đo tài nguyên", number="01/UBND",
                doc_type="Công văn", urgency="thuong", due=None, secret=None,
                files=[str(path)])))
        say(f"footprint: {len(ids)} documents ({total / 2**20:.1f} MiB) queued")
        done, next_check = False, 0.0
        while time.monotonic() - t0 < cap_s:
            busy.append(sample(pid))
            if time.monotonic() >= next_check:
                rows = await store.db.read(lambda c: c.execute_fetchall(
                    "SELECT count(*) FROM documents WHERE sender = ? AND complete_ms IS NOT NULL",
                    (A,)))
                if int(next(iter(rows))[0]) >= len(ids):
                    done = True
                    break
                next_check = time.monotonic() + 0.5
            await asyncio.sleep(SAMPLE_S)
        after = sample(pid)
        elapsed = time.monotonic() - t0
        mib = total / 2**20
        return {
            "profile": "lan (no shaping)", "corpus_bytes": total, "documents": len(ids),
            "finished": done, "elapsed_s": round(elapsed, 2),
            "idle_rss_mb": round(max(s.rss for s in idle) / 2**20, 1),
            "idle_cpu_percent": round(100 * idle_cpu, 2),
            "busy_rss_mb": round(max(s.rss for s in [*busy, after]) / 2**20, 1),
            "peak_rss_mb": round(after.hwm / 2**20, 1),  # VmHWM: peak since the process began
            "cpu_s": round(after.cpu_s - before.cpu_s, 2),
            "cpu_s_per_mib": round((after.cpu_s - before.cpu_s) / mib, 3) if mib else None,
            "wire_up": proxy.stats.bytes_up,
        }
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
