"""Transfer scenarios over the link emulator: the gateway's own sync, rsync, and curl.

Each scenario runs alone in a child process (``python -m bench.scenarios SPEC_JSON``) and
prints one JSON line. Why processes: the scenarios run side by side so the full benchmark
stays short, and one scenario's CPU (TLS, a gateway retrying, rsync's checksums) must not slow
another's link emulator, which shares the event loop of whatever it measures.

Every link proxy starts ``lead_s`` before its transfer and uses the same seed, so the gateway,
rsync and curl see the same cut schedule relative to their first byte (within ~0.1 s: the
testbed starts its hub just before the proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.baselines import RsyncDaemon, UploadServer, curl_upload, rsync_push
from bench.ledger import Ledger
from bench.probe_trace import HubWatch, ProbeTrace
from gateway.linkemu import PROFILES, LinkProfile, LinkProxy, LinkStats
from gateway.sync.daemon import watch_wakeup
from gateway.sync.transport import DEFAULT_SNDBUF, HubClient
from gateway.testbed import Testbed

A, B = "000.00.31.H35", "000.00.32.H35"  # two communes of the sample directory
KINDS = ("ours", "hoatoc", "rsync", "curl")
PROGRESS_S = 60.0


@dataclass(frozen=True)
class Spec:
    """One scenario. ``corpus_dir``: every regular file in it is one document (sorted)."""

    kind: str
    profile: str
    cuts: bool
    corpus_dir: str
    work_dir: str
    seed: int
    cap_s: float  # give up after this long: a result ("did not finish"), not an error
    lead_s: float = 3.0
    probes: tuple[str, ...] = ()  # hoatoc: files sent as Hỏa tốc while the bulk is uploading
    probe_gap_s: float = 10.0
    variant: str = ""  # names a scenario whose link differs from the profile (see below)
    cut_every_s: float | None = None  # instead of the profile's mean time between cuts
    blackout_s: float | None = None  # instead of the profile's blackout

    @property
    def name(self) -> str:
        return (f"{self.kind}/{self.profile}" + (f"/{self.variant}" if self.variant else "")
                + ("" if self.cuts else "/no-cuts"))

    def link(self) -> LinkProfile:
        profile = link_profile(self.profile, self.cuts)
        if self.cuts and self.cut_every_s is not None:
            profile = dataclasses.replace(profile, cut_every_s=self.cut_every_s)
        if self.cuts and self.blackout_s is not None:
            profile = dataclasses.replace(profile, blackout_s=self.blackout_s)
        return profile


@dataclass
class Probe:
    """One Hỏa tốc document queued behind the bulk; times in seconds from queueing it."""

    size: int
    queued_at_s: float  # after the bulk was queued
    bulk_sent: float  # fraction of the bulk's bytes handed to the link when it was queued
    at_hub_s: float | None
    at_b_s: float | None
    cut_during: bool  # a cut hit between queueing and the hub verifying it
    down_s: float = 0.0  # the link's blackout time within [queued, at hub]
    phases: dict[str, float] = field(default_factory=dict)  # bench.probe_trace.phases


@dataclass
class Transfer:
    """Outcome of one scenario; bytes and times cover queueing to done (or to ``cap_s``)."""

    name: str
    kind: str
    profile: str
    cuts_enabled: bool
    corpus_bytes: int
    files: int
    finished: bool
    elapsed_s: float  # ours: until the hub verified every blob (at_hub); tools: until done
    elapsed_b_s: float | None  # ours: until gateway B stored every document
    wire_up: int  # sender's link, during elapsed_s
    wire_down: int
    cuts: int
    blackout_s: float
    connections: int
    refused: int
    delivered_files: int
    delivered_bytes: int
    blob_bytes_up: int = 0  # ours: payload bytes the gateway handed to frames (re-sends too)
    frame_bytes_up: int = 0  # ours: bytes of those frames (after compression, with headers)
    frames_up: int = 0
    max_frame: int = 0
    b_wire_down: int = 0  # ours: bytes down gateway B's link until it stored everything
    idle_up_s: float = 0.0  # link up (not blacked out) but its uplink unused, during elapsed_s
    syncs: int = 0  # ours: sync round trips gateway A made
    cpu_s: float = 0.0  # this scenario process and its children (hub, gateways, proxy, tools)
    attempts: int = 0
    detail: str = ""
    probes: list[Probe] = field(default_factory=list)
    ledger: dict[str, Any] = field(default_factory=dict)  # ours: bench.ledger.Ledger.summary

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transfer:
        probes = [Probe(**p) for p in data.get("probes", [])]
        return cls(**{**data, "probes": probes})


def _up_rate(name: str) -> float:
    bps = PROFILES[name].up_bps
    return float("inf") if bps is None else bps / 8


def link_profile(name: str, cuts: bool) -> LinkProfile:
    profile = PROFILES[name]
    if cuts:
        return profile
    return dataclasses.replace(profile, name=f"{name}-nocut", cut_every_s=None, blackout_s=0.0)


def corpus_files(corpus_dir: str | Path) -> list[Path]:
    return sorted(p for p in Path(corpus_dir).iterdir() if p.is_file())


def _size(path: str | Path) -> int:
    return Path(path).stat().st_size


def _log(spec: Spec, msg: str) -> None:
    print(f"  [{spec.name}] {msg}", file=sys.stderr, flush=True)


async def _sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


Times = Callable[[], Awaitable[dict[str, int | None]]]


async def _until_all(times: Times, ids: Sequence[str], deadline: float, poll_s: float,
                     progress: Callable[[int], None] | None = None) -> int | None:
    """Wall ms at which the last of ``ids`` got its timestamp, or None at the deadline."""
    next_report = time.monotonic() + PROGRESS_S
    while True:
        got = await times()
        stamps = [got.get(i) for i in ids]
        if all(s is not None for s in stamps):
            return max(s for s in stamps if s is not None)
        if time.monotonic() >= deadline:
            return None
        if progress is not None and time.monotonic() >= next_report:
            progress(sum(s is not None for s in stamps))
            next_report += PROGRESS_S
        await asyncio.sleep(poll_s)


def _hub_times(tb: Testbed) -> Times:
    """complete_ms of A's documents at the hub: all blobs verified (the sender's at_hub)."""
    async def times() -> dict[str, int | None]:
        assert tb.hub is not None
        rows = await tb.hub.state.store.db.read(lambda c: c.execute_fetchall(
            "SELECT id, complete_ms FROM documents WHERE sender = ?", (A,)))
        return {str(r[0]): None if r[1] is None else int(r[1]) for r in rows}
    return times


def _b_times(tb: Testbed) -> Times:
    """received_ms of B's inbound documents: stored, blobs verified, acked next."""
    async def times() -> dict[str, int | None]:
        rows = await tb.gateway(B).store.db.read(lambda c: c.execute_fetchall(
            "SELECT id, received_ms FROM documents WHERE direction = 'in'"))
        return {str(r[0]): None if r[1] is None else int(r[1]) for r in rows}
    return times


class IdleMeter:
    """Seconds the uplink was up but unused: elapsed − bytes/rate − blackout, summed over
    short intervals (so a fast stretch cannot hide an idle one). Where the time goes."""

    def __init__(self, proxy: LinkProxy, rate: float, step_s: float = 0.25) -> None:
        self.proxy, self.rate, self.step_s = proxy, rate, step_s
        self.idle_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.idle_s

    async def _run(self) -> None:
        last, t = self.proxy.stats, time.monotonic()
        while True:
            await asyncio.sleep(self.step_s)
            now, cur = time.monotonic(), self.proxy.stats
            busy = (cur.bytes_up - last.bytes_up) / self.rate
            down = cur.blackout_seconds - last.blackout_seconds
            self.idle_s += max(0.0, now - t - busy - down)
            last, t = cur, now


def _wire(result: Transfer, s0: LinkStats, s1: LinkStats) -> None:
    result.wire_up, result.wire_down = s1.bytes_up - s0.bytes_up, s1.bytes_down - s0.bytes_down
    result.cuts, result.connections = s1.cuts - s0.cuts, s1.connections - s0.connections
    result.blackout_s = s1.blackout_seconds - s0.blackout_seconds
    result.refused = s1.refused - s0.refused


async def run_ours(spec: Spec) -> Transfer:
    files = corpus_files(spec.corpus_dir)
    total = sum(p.stat().st_size for p in files)
    tb = Testbed(Path(spec.work_dir) / "province", spec.link(),
                 seed=spec.seed, wait_s=60, sndbuf=DEFAULT_SNDBUF)
    started = time.monotonic()
    await tb.start([A, B])
    try:
        await _sleep_until(started + spec.lead_s)
        proxy, client = tb.nodes[A].proxy, tb.gateway(A).client
        ledger = _ledger(tb)
        s0, b0 = proxy.stats, tb.nodes[B].proxy.stats
        up0, blob0, frames0 = client.stats.bytes_up, client.stats.blob_bytes_up, \
            client.stats.frames_up
        syncs0 = client.stats.syncs
        meter = IdleMeter(proxy, _up_rate(spec.profile))
        meter.start()
        t0, m0 = time.time(), time.monotonic()
        ids = [await tb.send(A, [B], [p]) for p in files]
        deadline = m0 + spec.cap_s
        res = Transfer(spec.name, spec.kind, spec.profile, spec.cuts, total, len(files),
                       False, spec.cap_s, None, 0, 0, 0, 0.0, 0, 0, 0, 0)
        if spec.kind == "hoatoc":
            await _probes(spec, tb, res, deadline)
            _wire(res, s0, proxy.stats)
        else:
            def progress(n: int) -> None:
                _log(spec, f"{n}/{len(ids)} documents at the hub after "
                           f"{time.monotonic() - m0:.0f} s, {proxy.stats.cuts - s0.cuts} cuts")
            hub_ms = await _until_all(_hub_times(tb), ids, deadline, 0.25, progress)
            _wire(res, s0, proxy.stats)
            res.idle_up_s = await meter.stop()
            if hub_ms is not None:
                res.elapsed_s = hub_ms / 1000 - t0
                b_ms = await _until_all(_b_times(tb), ids, deadline, 0.25)
                res.elapsed_b_s = None if b_ms is None else b_ms / 1000 - t0
                res.finished = b_ms is not None
            res.b_wire_down = tb.nodes[B].proxy.stats.bytes_down - b0.bytes_down
            done = await _hub_times(tb)()
            res.delivered_files = sum(done.get(i) is not None for i in ids)
            res.delivered_bytes = sum(p.stat().st_size for p, i in zip(files, ids, strict=True)
                                      if done.get(i) is not None)
        await meter.stop()
        st = client.stats
        res.syncs = st.syncs - syncs0
        res.frame_bytes_up, res.blob_bytes_up = st.bytes_up - up0, st.blob_bytes_up - blob0
        res.frames_up, res.max_frame = st.frames_up - frames0, st.max_frame
        res.detail = f"sync failures {st.failures}, last error {st.last_error[:120]!r}"
        res.ledger = ledger.summary()
        if tb.hub is not None:  # what the hub saw of the cuts (docs/protocol.md §4)
            hub, held = tb.hub.state, tb.hub.state.held_frames
            res.ledger["hub"] = {"lost_bytes": hub.lost_bytes, "pieces_kept": held.kept,
                                 "pieces_resumed": held.resumed,
                                 "resumed_bytes": held.resumed_bytes,
                                 "requests": dict(hub.requests)}
        return res
    finally:
        await tb.stop()


def _ledger(tb: Testbed) -> Ledger:
    """A ledger on gateway A's HTTP session, from now on."""
    ledger, hub = Ledger(), tb.gateway(A).client.hub
    if isinstance(hub, HubClient):
        ledger.attach(hub.session)
    return ledger


async def _probes(spec: Spec, tb: Testbed, res: Transfer, deadline: float) -> None:
    """Queues each probe as Hỏa tốc while the bulk uploads; times it to the hub and to B, with
    the link's down time in between and where its time went (bench.probe_trace)."""
    proxy, gw = tb.nodes[A].proxy, tb.gateway(A)
    client = gw.client
    trace = ProbeTrace(lambda: proxy.stats.bytes_up)
    if isinstance(client.hub, HubClient):
        trace.attach(client.hub.session)
    trace.watch_needs(client.uploader)
    # The clerk's command wakes the daemon through its wake-up file, which the daemon polls:
    # the probes go that way (the bulk was woken directly: it is not timed from its queueing).
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_wakeup(gw.layout, client, stop))
    try:
        await _each_probe(spec, tb, res, deadline, trace)
    finally:
        stop.set()
        await watcher


async def _each_probe(spec: Spec, tb: Testbed, res: Transfer, deadline: float,
                      trace: ProbeTrace) -> None:
    proxy, gw, hub = tb.nodes[A].proxy, tb.gateway(A), tb.hub
    client = gw.client
    assert hub is not None
    bulk_queued = time.monotonic()
    for path in spec.probes:
        await asyncio.sleep(spec.probe_gap_s)
        cuts0, sent = proxy.stats.cuts, client.stats.blob_bytes_up / res.corpus_bytes
        tq, mq = time.time(), time.monotonic()
        queued_at = mq - bulk_queued
        doc = await tb.send(A, [B], [Path(path)], urgency="hoa-toc", wake=False)
        stored = time.monotonic()
        (att,) = (await gw.store.document(doc)).envelope.attachments
        watch = HubWatch(hub.state.store.blobs, att.sha256, att.size,
                         lambda: proxy.stats.bytes_up)
        watch.start()
        hub_ms = await _until_all(_hub_times(tb), [doc], deadline, 0.05)
        watch.stop()
        cut = proxy.stats.cuts > cuts0
        b_ms = await _until_all(_b_times(tb), [doc], deadline, 0.05)
        at_hub = None if hub_ms is None else hub_ms / 1000 - tq
        probe = Probe(_size(path), queued_at, min(sent, 1.0), at_hub,
                      None if b_ms is None else b_ms / 1000 - tq, cut)
        if at_hub is not None:
            probe.down_s = round(down_within(proxy.down_intervals, mq, mq + at_hub), 3)
            probe.phases = trace.phases(att.sha256, mq, stored, watch, mq + at_hub)
        res.probes.append(probe)
        _log(spec, f"probe {len(res.probes)}: {probe.size} B at hub after "
                   f"{probe.at_hub_s or float('nan'):.2f} s (cut during: {cut}, down "
                   f"{probe.down_s:.2f} s) {probe.phases}")
    res.finished = all(p.at_b_s is not None for p in res.probes)
    res.elapsed_s = time.monotonic() - bulk_queued


def down_within(intervals: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``intervals`` (the link's blackouts) that fall within [start, end]."""
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in intervals)


async def run_tool(spec: Spec) -> Transfer:
    """rsync (daemon mode) or curl (PUT per file), through their own proxy, re-run on failure."""
    files = corpus_files(spec.corpus_dir)
    total = sum(p.stat().st_size for p in files)
    server = RsyncDaemon() if spec.kind == "rsync" else UploadServer()
    async with server:
        proxy = LinkProxy("127.0.0.1", server.port, spec.link(), seed=spec.seed)
        started = time.monotonic()
        await proxy.start()
        try:
            await _sleep_until(started + spec.lead_s)
            s0 = proxy.stats
            meter = IdleMeter(proxy, _up_rate(spec.profile))
            meter.start()
            if isinstance(server, RsyncDaemon):
                out = await rsync_push(Path(spec.corpus_dir), "127.0.0.1", proxy.port,
                                       server.module, timeout_s=spec.cap_s,
                                       dest_dir=server.path)
            else:
                out = await curl_upload(files, "127.0.0.1", proxy.port, timeout_s=spec.cap_s,
                                        dest_dir=server.path)
            s1 = proxy.stats
            idle = await meter.stop()
        finally:
            await proxy.stop()
        res = Transfer(spec.name, spec.kind, spec.profile, spec.cuts, total, len(files),
                       out.ok, out.elapsed_s if out.ok else spec.cap_s, None, 0, 0, 0, 0.0,
                       0, 0, 0, 0, attempts=out.attempts, detail=out.detail[:300])
        _wire(res, s0, s1)
        res.idle_up_s = idle
        arrived = [p for p in files if _same(p, server.path / p.name)]
        res.delivered_files = len(arrived)
        res.delivered_bytes = sum(p.stat().st_size for p in arrived)
        return res


def _same(src: Path, dst: Path) -> bool:
    if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
        return False
    return hashlib.sha256(src.read_bytes()).digest() == hashlib.sha256(dst.read_bytes()).digest()


async def run(spec: Spec) -> Transfer:
    if spec.kind not in KINDS:
        raise ValueError(f"unknown scenario kind {spec.kind!r}")
    res = await (run_ours(spec) if spec.kind in ("ours", "hoatoc") else
                 run_tool(spec))
    res.cpu_s = _cpu_s()
    return res


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.scenarios SPEC_JSON (written by bench.run)",
              file=sys.stderr)
        return 2
    raw = json.loads(args[0])
    spec = Spec(**{**raw, "probes": tuple(raw.get("probes", ()))})
    result = asyncio.run(run(spec))
    print(json.dumps(dataclasses.asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
