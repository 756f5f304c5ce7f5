"""Gateway daemon footprint: resident memory idle and while uploading, CPU seconds per MiB;
and, while it is idle, its traffic (bench.idle_traffic).

The gateway runs as its own ``gateway run`` process (bench.boxrun), so its /proc figures hold
nothing of the benchmark. The link is the emulator's "lan" profile (no shaping), so the
transfer is CPU-bound: that is the worst case for CPU per MiB and for memory (the frame
pacer grows frames to 1 MiB).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import idle_traffic
from bench.boxrun import A, B, BoxRun, box_against_hub
from bench.procstat import ProcSample, sample
from gateway.linkemu import PROFILES
from gateway.services.send import SendRequest, send

SAMPLE_S = 0.1


async def measure(work: Path, files: Sequence[Path], *, idle_s: float, cap_s: float,
                  say: Callable[[str], None]) -> dict[str, object]:
    with idle_traffic.watching() as watch:
        async with box_against_hub(work, PROFILES["lan"]) as box:
            return await _measure(box, watch, files, idle_s=idle_s, cap_s=cap_s, say=say)


async def _measure(box: BoxRun, watch: idle_traffic.IdleWatch, files: Sequence[Path], *,
                   idle_s: float, cap_s: float, say: Callable[[str], None]) -> dict[str, object]:
    store, proxy, data = box.hub.state.store, box.proxy, box.data
    # Start-up exchanges over, long-poll out (a short look, as in the smoke test, waits less).
    await asyncio.sleep(min(idle_traffic.SETTLE_S, 1.0 + idle_s))
    watch.begin(proxy)
    pid = box.proc.pid
    idle: list[ProcSample] = []
    t_idle = time.monotonic()
    while time.monotonic() - t_idle < idle_s:
        idle.append(sample(pid))
        await asyncio.sleep(0.5)
    idle.append(sample(pid))
    idle_cpu = (idle[-1].cpu_s - idle[0].cpu_s) / (time.monotonic() - t_idle)
    traffic = watch.end()
    say(f"idle traffic: {idle_traffic.describe(traffic)}")

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
        "wire_up": proxy.stats.bytes_up, "idle_traffic": traffic,
    }
