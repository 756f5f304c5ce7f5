"""Hub memory per open gateway connection: N gateways each holding a long-poll.

    python -m bench.hubmem [--n 2000]

What a connected box costs the hub is one mutual-TLS connection with a sync held open on it
(the long-poll), for as long as the box is up. Every simulated gateway (bench.simgw) connects
from its loopback source address, sends a sync asking for the longest hold the hub grants and,
when the hub answers, sends the next one at once, as a box does. Once all N have sent and the
hub's CPU has gone quiet (all requests read and parked), the hub's VmRSS is read from /proc:

    per connection = (RSS with N long-polls held − RSS before they connected) / N

Run alone (:func:`measure`), the rest figure is taken after a few gateways connected, synced
and left, so what the first request costs once (code paths, caches, the SQLite page cache) is
not charged per connection. In bench.hubscale it is the RSS before the first gateway connected,
so that figure also carries whatever the fleet and capacity phases left behind. Figures are
printed, never asserted; a test runs the same measurement with a loose bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench.procstat import sample
from bench.report import Row
from bench.simgw import HubProcess, Sim, raise_fd_limit, sims, sync_message, sync_reply
from gateway.protocol.limits import MAX_WAIT

GOAL_PER_CONN = 64_000  # bytes: "64 KB"
GOAL_TOTAL_10K = 1_000_000_000  # "1 GB"
JUDGED_FROM = 5000
CONNECT_CONCURRENCY = 64  # handshakes in flight from the load generator
QUIET_CPU_S = 0.02  # hub CPU seconds per 0.5 s below which it has parked every request
SETTLE_CAP_S = 30.0


async def _quiet(pid: int) -> None:
    """Returns once the hub used under QUIET_CPU_S of CPU in half a second (or at the cap)."""
    end = time.monotonic() + SETTLE_CAP_S
    before = sample(pid).cpu_s
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        now = sample(pid).cpu_s
        if now - before < QUIET_CPU_S:
            return
        before = now


class Holders:
    """One long-polling task per gateway; ``polling`` holds the gateways whose poll is out on
    a connection that has not failed (one the hub had closed fails at once, and reconnects)."""

    def __init__(self, port: int, gateways: Sequence[Sim]) -> None:
        self.port, self.gateways = port, gateways
        self.polling: set[int] = set()
        self.errors: dict[str, int] = {}
        self.changed = asyncio.Event()
        self._gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._poll(g)) for g in self.gateways]

    async def all_out(self) -> None:
        while len(self.polling) < len(self.gateways):
            self.changed.clear()
            await self.changed.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for g in self.gateways:
            g.drop()  # mid-poll: the connection cannot carry another request

    async def _poll(self, g: Sim) -> None:
        while True:
            try:
                if g.conn is None:
                    async with self._gate:
                        await g.connection(self.port)
                assert g.conn is not None
                await g.conn.send("POST", "/v1/sync", *sync_message(g, (), (), wait=MAX_WAIT))
                self.polling.add(g.index)
                self.changed.set()
                status, headers, raw = await g.conn.response("POST")
                if status == 200:
                    sync_reply(g, headers, raw)
                else:
                    self._error(f"sync {status}")
                    await asyncio.sleep(1.0)
            except (OSError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as exc:
                self.polling.discard(g.index)
                self._error(type(exc).__name__)
                g.drop()
                await asyncio.sleep(0.2)

    def _error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def hold(pid: int, port: int, gateways: Sequence[Sim], rest_rss: int,
               say: Callable[[str], None]) -> dict[str, object]:
    """Holds a long-poll per gateway, reads the hub's RSS, ends the polls (connections
    closed); the per-connection figure is against ``rest_rss``."""
    holders = Holders(port, gateways)
    t0 = time.monotonic()
    holders.start()
    try:
        await holders.all_out()
        connect_s = time.monotonic() - t0
        await _quiet(pid)
        await holders.all_out()  # none failed meanwhile (or it is back)
        held = sample(pid)
    finally:
        await holders.stop()
    n = len(gateways)
    per_conn = (held.rss - rest_rss) / n
    say(f"hub memory: {n} long-polls held in {held.rss / 2**20:.1f} MiB "
        f"(rest {rest_rss / 2**20:.1f} MiB): {per_conn / 1024:.1f} KiB per connection")
    return {"n": n, "connect_s": round(connect_s, 1), "rest_rss_mb": round(rest_rss / 2**20, 1),
            "held_rss_mb": round(held.rss / 2**20, 1), "hwm_mb": round(held.hwm / 2**20, 1),
            "per_conn_kib": round(per_conn / 1024, 1), "errors": dict(holders.errors)}


async def _warm(port: int, gateways: Sequence[Sim]) -> None:
    """A few gateways connect, sync once and leave: one-time costs, paid before ``rest``."""
    for g in gateways:
        conn = await g.connection(port)
        status, headers, raw = await conn.request("POST", "/v1/sync",
                                                  *sync_message(g, (), (), wait=0))
        if status == 200:
            sync_reply(g, headers, raw)
        g.drop()
    await asyncio.sleep(1.5)  # the hub gives freed memory back a second after a close


async def measure(work: Path, n: int, say: Callable[[str], None]) -> dict[str, object]:
    """A `gateway hub run` process, N gateways enrolled directly, N long-polls held."""
    raise_fd_limit(n + 1024)
    hub = await HubProcess.start(work, n)
    try:
        gateways = sims(hub)
        pid = hub.proc.pid
        await _warm(hub.port, gateways[:8])
        return await hold(pid, hub.port, gateways, sample(pid).rss, say)
    finally:
        await hub.stop()


def rows(results: Sequence[Mapping[str, object]]) -> list[Row]:
    """Per-connection memory and total RSS next to their goals, from bench.hubscale results."""
    out: list[Row] = []
    for result in results:
        r = result.get("held")
        if not isinstance(r, Mapping):
            continue
        n, per, total = r.get("n"), r.get("per_conn_kib"), r.get("held_rss_mb")
        if not isinstance(n, int) or not isinstance(per, float | int) \
                or not isinstance(total, float | int):
            continue
        detail = (f"`gateway hub run` VmRSS: rest {r.get('rest_rss_mb')} MiB, {n} long-polls "
                  f"held {total} MiB (peak {r.get('hwm_mb')}); all out in "
                  f"{r.get('connect_s')} s; errors {r.get('errors')}")
        # Below a few thousand, what the hub's first requests cost once weighs on the figure.
        verdict = ("met" if per * 1024 <= GOAL_PER_CONN else "MISSED") if n >= JUDGED_FROM \
            else "—"
        out.append(Row("8. hub memory per open gateway connection (mTLS + held long-poll)",
                       f"N={n}", f"{per:.1f} KiB", detail, f"≤ 64 KB at N ≥ {JUDGED_FROM}",
                       verdict))
        if n >= 10_000:
            out.append(Row("8b. hub RSS with N gateways connected, each holding a long-poll",
                           f"N={n}", f"{total:.0f} MiB", detail, "< 1 GB at N = 10,000",
                           "met" if total * 2**20 < GOAL_TOTAL_10K else "MISSED"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="hubmem-") as tmp:
        print(asyncio.run(measure(Path(tmp), args.n, say)))


if __name__ == "__main__":
    main()
