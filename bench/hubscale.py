"""Hub scale: N simulated gateways doing heartbeats and small syncs against one hub process.

The hub runs as its own process (``gateway hub run``); this process is
the load generator. On a 2-core machine each gets about one core, so the CPU both used is
reported next to the throughput: when the generator is the busier one, the figure is a floor.

The simulated gateways, their directly issued identities and the hub process are
bench.simgw's (its docstring says what the enrollment shortcut skips).

Each simulated gateway keeps its own mutual-TLS keep-alive connection, like a real one. A tick
is one sync (heartbeat, acks, receipt cursor; with probability ``p_doc`` one new small document
for another simulated gateway), then the PATCH of that document's blob if the hub asks for it,
then the GET of up to two inbox blobs (acked on the next sync). Two phases per N:

* fleet rate: open loop, every gateway ticks once per ``HEARTBEAT_S`` (what an idle gateway's
  long-poll costs the hub), latency counted from the scheduled time (no coordinated omission);
* capacity: closed loop with ``concurrency`` requests in flight, round-robin over the N;

then every gateway holds a long-poll at once and the hub's memory is read (bench.hubmem).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import ssl
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench import hubmem
from bench.procstat import own_cpu_s, sample
from bench.simgw import HubProcess, Sim, raise_fd_limit, sims, sync_message, sync_reply
from gateway.model import Attachment, Envelope, Urgency, uuid7
from gateway.protocol.frames import FrameDecoder, FrameEncoder
from gateway.protocol.limits import FRAMES_TYPE

HEARTBEAT_S = 60.0  # an idle gateway long-polls with wait=60 s: one sync a minute per box


@dataclass
class Recorder:
    """Latencies (seconds) per request kind, kept only while ``on``."""

    on: bool = False
    lat: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        if self.on:
            self.lat.setdefault(kind, []).append(seconds)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def count(self) -> int:
        return sum(len(v) for k, v in self.lat.items() if k != "connect")


class Load:
    def __init__(self, port: int, sims: list[Sim], p_doc: float, rec: Recorder) -> None:
        self.port, self.sims, self.p_doc, self.rec = port, sims, p_doc, rec

    async def _call(self, g: Sim, kind: str, method: str, path: str, headers: dict[str, str],
                    body: bytes = b"", since: float | None = None
                    ) -> tuple[int, dict[str, str], bytes]:
        """One request on g's connection (reconnecting once if the hub dropped it idle)."""
        start = time.monotonic() if since is None else since
        for attempt in (1, 2):
            if g.conn is None:
                t = time.monotonic()
                await g.connection(self.port)
                self.rec.add("connect", time.monotonic() - t)
            assert g.conn is not None
            try:
                out = await g.conn.request(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                g.drop()
                self.rec.error("reconnect")
                if attempt == 2:
                    raise
                continue
            self.rec.add(kind, time.monotonic() - start)
            if out[0] >= 400:
                self.rec.error(f"{kind} {out[0]}")
            return out
        raise AssertionError("unreachable")

    async def tick(self, g: Sim, since: float | None = None, allow_doc: bool = True) -> None:
        now = time.time_ns() // 1_000_000
        out: tuple[Envelope, ...] = ()
        blob = b""
        if allow_doc and g.rng.random() < self.p_doc:
            blob = g.rng.randbytes(g.rng.randint(2048, 8192))
            peer = self.sims[g.rng.randrange(len(self.sims))].agency
            if peer == g.agency:
                peer = self.sims[0].agency if g is not self.sims[0] else self.sims[-1].agency
            att = Attachment("bao-cao-nhanh.pdf", "application/pdf",
                             hashlib.sha256(blob).hexdigest(), len(blob))
            out = (Envelope(
                id=uuid7(now, os.urandom), sender=g.agency, recipients=(peer,), number="12",
                notation="UBND-VP", doc_type="Công văn", subject="V/v báo cáo nhanh tình hình",
                issue_place="", issue_date=date.today(), signer="", urgency=Urgency.THUONG,
                due_date=None, attachments=(att,), created_ms=now),)
        acks, g.acks = g.acks, []
        headers, body = sync_message(g, out, tuple(acks), wait=0)
        status, hdrs, raw = await self._call(g, "sync", "POST", "/v1/sync", headers, body, since)
        if status != 200:
            g.acks = acks + g.acks
            return
        reply = sync_reply(g, hdrs, raw)
        if out and any(n.sha256 == out[0].attachments[0].sha256 for n in reply.need):
            sha = out[0].attachments[0].sha256
            await self._call(g, "patch", "PATCH", f"/v1/blobs/{sha}",
                             {"Upload-Offset": "0", "Upload-Length": str(len(blob)),
                              "Content-Type": FRAMES_TYPE}, FrameEncoder().encode(blob))
        for item in reply.inbox[:2]:
            ok = True
            for a in item.env.attachments:
                status, _, data = await self._call(g, "get", "GET",
                                                   f"/v1/blobs/{a.sha256}?offset=0", {})
                got = b"".join(FrameDecoder().feed(data)) if status == 200 else b""
                ok = ok and hashlib.sha256(got).hexdigest() == a.sha256
            if ok:
                g.acks.append(item.seq)

    async def warm_up(self, concurrency: int) -> float:
        """Connects every gateway and syncs it once; returns the seconds it took."""
        todo = deque(self.sims)
        t0 = time.monotonic()

        async def worker() -> None:
            while todo:
                await self._guard(self.tick(todo.popleft(), allow_doc=False))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.monotonic() - t0

    async def _guard(self, aw: Awaitable[None]) -> None:
        try:
            await aw
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as exc:
            self.rec.error(type(exc).__name__)

    async def closed_loop(self, concurrency: int, seconds: float) -> float:
        queue = deque(self.sims)
        end = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < end:
                g = queue.popleft()
                await self._guard(self.tick(g))
                queue.append(g)

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.monotonic() - t0

    async def fleet_rate(self, seconds: float) -> tuple[float, int]:
        """Open loop: each gateway ticks every HEARTBEAT_S from a random phase; (s, skipped)."""
        rng = random.Random(len(self.sims))
        start = time.monotonic() + 0.5
        plan = sorted((start + rng.uniform(0, HEARTBEAT_S) + k * HEARTBEAT_S, i)
                      for i in range(len(self.sims)) for k in range(int(seconds // HEARTBEAT_S)
                                                                   + 1))
        plan = [(t, i) for t, i in plan if t < start + seconds]
        tasks: set[asyncio.Task[None]] = set()
        skipped = 0

        async def one(g: Sim, at: float) -> None:
            try:
                await self._guard(self.tick(g, since=at))
            finally:
                g.busy = False

        for at, i in plan:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            g = self.sims[i]
            if g.busy:  # its previous sync has not come back yet: a real box would wait too
                skipped += 1
                continue
            g.busy = True
            task = asyncio.create_task(one(g, at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return time.monotonic() - start, skipped


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(rec: Recorder, seconds: float) -> dict[str, object]:
    sync = rec.lat.get("sync", [])
    every = [x for k, v in rec.lat.items() if k != "connect" for x in v]
    return {
        "seconds": round(seconds, 2), "requests": len(every),
        "req_per_s": round(len(every) / seconds, 1) if seconds > 0 else None,
        "syncs": len(sync), "sync_p50_ms": _ms(_pct(sync, 0.50)),
        "sync_p99_ms": _ms(_pct(sync, 0.99)), "all_p50_ms": _ms(_pct(every, 0.50)),
        "all_p99_ms": _ms(_pct(every, 0.99)),
        "by_kind": {k: {"n": len(v), "p50_ms": _ms(_pct(v, .5)), "p99_ms": _ms(_pct(v, .99)),
                        "mean_ms": _ms(statistics.fmean(v)) if v else None}
                    for k, v in sorted(rec.lat.items())},
        "errors": dict(rec.errors),
    }


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 1)




async def run_one(work: Path, n: int, *, fleet_s: float, capacity_s: float, concurrency: int,
                  p_doc: float, say: Callable[[str], None]) -> dict[str, object]:
    concurrency = min(concurrency, n)  # one request in flight per gateway at most
    limit = raise_fd_limit(n + 1024)
    if limit < n + 64:
        raise RuntimeError(f"open-file limit {limit} is too low for {n} connections "
                           "(raise it with ulimit -n, or run as root)")
    t = time.monotonic()
    hub = await HubProcess.start(work, n)
    gateways = sims(hub)
    setup_s = time.monotonic() - t
    try:
        rest = sample(hub.proc.pid)
        rec = Recorder(on=True)
        load = Load(hub.port, gateways, p_doc, rec)
        warm_s = await load.warm_up(concurrency)
        connect = rec.lat.get("connect", [])
        result: dict[str, object] = {
            "n": n, "setup_s": round(setup_s, 1), "concurrency": concurrency, "p_doc": p_doc,
            "heartbeat_s": HEARTBEAT_S,
            "warm_up": {"seconds": round(warm_s, 1), "connects": len(connect),
                        "connect_p50_ms": _ms(_pct(connect, .5)),
                        "connect_p99_ms": _ms(_pct(connect, .99)), "errors": dict(rec.errors)},
        }
        say(f"hub N={n}: {len(connect)} gateways connected in {warm_s:.1f} s")
        phases: list[tuple[str, Callable[[], Awaitable[tuple[float, int]]]]] = [
            ("fleet", lambda: load.fleet_rate(fleet_s)),
            ("capacity", lambda: _closed(load, concurrency, capacity_s))]
        for phase, run in phases:
            load.rec = rec = Recorder(on=True)
            hub0, gen0, t0 = sample(hub.proc.pid), own_cpu_s(), time.monotonic()
            seconds, skipped = await run()
            wall = time.monotonic() - t0
            hub1, gen1 = sample(hub.proc.pid), own_cpu_s()
            summary = _summary(rec, seconds)
            summary.update(skipped=skipped, hub_cpu=round((hub1.cpu_s - hub0.cpu_s) / wall, 2),
                           loadgen_cpu=round((gen1 - gen0) / wall, 2),
                           hub_rss_mb=round(hub1.rss / 2**20, 1))
            if phase == "fleet":
                summary["offered_per_s"] = round(n / HEARTBEAT_S, 1)
            result[phase] = summary
            say(f"hub N={n} {phase}: {summary['req_per_s']} req/s, sync p50 "
                f"{summary['sync_p50_ms']} ms, p99 {summary['sync_p99_ms']} ms, hub CPU "
                f"{summary['hub_cpu']}, load generator CPU {summary['loadgen_cpu']}")
        # Last, as it ends with every connection closed: all N hold a long-poll at once.
        result["held"] = await hubmem.hold(hub.proc.pid, hub.port, gateways, rest.rss, say)
        return result
    finally:
        for g in gateways:
            g.drop()
        await hub.stop()


async def _closed(load: Load, concurrency: int, seconds: float) -> tuple[float, int]:
    return await load.closed_loop(concurrency, seconds), 0
