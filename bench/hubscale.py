"""Hub scale: N simulated gateways doing heartbeats and small syncs against one hub process.

The hub runs as its own process (``gateway hub init`` / ``gateway hub run``); this process is
the load generator. On a 2-core machine each gets about one core, so the CPU both used is
reported next to the throughput: when the generator is the busier one, the figure is a floor.

Shortcut (documented in docs/benchmarks.md): the N identities are not enrolled through
``/v1/enroll`` one by one. Their certificates are issued directly by the hub's CA
(``load_ca`` + ``sign_csr``, exactly what enrollment calls) and their serials inserted into the
hub's ``certificates`` table before the hub starts, so the hub authenticates and revocation-
checks them on every request as it would enrolled boxes.

Each simulated gateway keeps its own mutual-TLS keep-alive connection, like a real one. A tick
is one sync (heartbeat, acks, receipt cursor; with probability ``p_doc`` one new small document
for another simulated gateway), then the PATCH of that document's blob if the hub asks for it,
then the GET of up to two inbox blobs (acked on the next sync). Two phases per N:

* fleet rate: open loop, every gateway ticks once per ``HEARTBEAT_S`` (what an idle gateway's
  long-poll costs the hub), latency counted from the scheduled time (no coordinated omission);
* capacity: closed loop with ``concurrency`` requests in flight, round-robin over the N.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import ssl
import statistics
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.procstat import own_cpu_s, sample
from gateway import __version__
from gateway.model import Attachment, Directory, Envelope, Urgency, uuid7
from gateway.protocol.compression import SyncCompressor
from gateway.protocol.frames import FrameDecoder, FrameEncoder
from gateway.protocol.limits import FRAMES_TYPE, SYNC_TYPE
from gateway.protocol.wire import NodeReport, SyncReply, SyncRequest, decode_reply, encode_request
from gateway.security.ca import load_ca, private_key_pem
from gateway.security.identity import csr_for
from gateway.security.tls import client_context
from gateway.store.db import Database
from gateway.store.hub.schema import HUB_MIGRATIONS

HEARTBEAT_S = 25.0  # an idle gateway long-polls with wait=25 s: one sync per 25 s per box
_COMP = SyncCompressor()
_DICT = _COMP.newest()


def agency_code(i: int) -> str:
    """Distinct level-4 codes that are in no real directory: 001.00.99.H35, 001.01.99.H35 …"""
    return f"{i // 100 + 1:03d}.{i % 100:02d}.99.H35"


class Conn:
    """Just enough HTTP/1.1 keep-alive client: light on CPU, so the hub is what is measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, ctx: ssl.SSLContext) -> Conn:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1", limit=2**20)
        return cls(reader, writer)

    def close(self) -> None:
        self.writer.transport.abort()

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.writer.write("\r\n".join(head).encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("hub closed the connection")
        status = int(status_line.split()[1])
        hdrs: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            hdrs[key.strip().lower()] = value.strip()
        data = b""
        if method != "HEAD" and status not in (204, 304):
            if "content-length" in hdrs:
                data = await self.reader.readexactly(int(hdrs["content-length"]))
            elif hdrs.get("transfer-encoding", "").lower() == "chunked":
                data = await self._chunked()
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, data

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        while await self.reader.readline() not in (b"\r\n", b""):
            pass  # trailers
        return b"".join(parts)


@dataclass
class Sim:
    """One simulated gateway."""

    agency: str
    ctx: ssl.SSLContext
    rng: random.Random
    conn: Conn | None = None
    rcursor: int = 0
    acks: list[int] = field(default_factory=list)
    busy: bool = False


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
                g.conn = await Conn.open(self.port, g.ctx)
                self.rec.add("connect", time.monotonic() - t)
            try:
                out = await g.conn.request(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                g.conn.close()
                g.conn = None
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
        req = SyncRequest(node=NodeReport(__version__, now, len(out), 8 * 2**30, 0, 3600),
                          out=out, acks=tuple(acks), statuses=(), rcursor=g.rcursor, wait=0)
        status, hdrs, raw = await self._call(
            g, "sync", "POST", "/v1/sync",
            {"Content-Type": SYNC_TYPE, "X-Sync-Dict": str(_DICT), "X-Sync-Dicts": _COMP.offer()},
            _COMP.compress(encode_request(req), _DICT), since)
        if status != 200:
            g.acks = acks + g.acks
            return
        reply: SyncReply = decode_reply(_COMP.decompress(raw, int(hdrs.get("x-sync-dict", "0"))))
        g.rcursor = max((r.rseq for r in reply.receipts), default=g.rcursor)
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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _directory(n: int) -> str:
    sample = json.loads(Directory.sample().to_json())["agencies"]
    sims = [{"code": agency_code(i), "name": f"UBND xã mô phỏng {i}"} for i in range(n)]
    return json.dumps({"agencies": sample + sims}, ensure_ascii=False)


async def _enroll_directly(hub_dir: Path, ids_dir: Path, n: int) -> list[Path]:
    """The shortcut: issue N client certificates with the hub CA, record their serials."""
    paths, rows = await asyncio.to_thread(_issue, hub_dir, ids_dir, n)
    db = await Database.open(hub_dir / "hub.sqlite3", HUB_MIGRATIONS)
    try:
        await db.write(lambda c: c.executemany(
            "INSERT INTO certificates(serial, agency, issued_ms) VALUES (?,?,?)", rows))
    finally:
        await db.close()
    return paths


def _issue(hub_dir: Path, ids_dir: Path, n: int) -> tuple[list[Path], list[tuple[str, str, int]]]:
    """Key + CSR + certificate signed by the hub CA per identity, one PEM file each."""
    ca, now = load_ca(hub_dir / "ca"), datetime.now(UTC)
    ids_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rows: list[tuple[str, str, int]] = []
    for i in range(n):
        agency = agency_code(i)
        key_pem = private_key_pem(ec.generate_private_key(ec.SECP256R1()))
        cert = ca.sign_csr(csr_for(key_pem, agency), agency, now=now)
        path = ids_dir / f"{i}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key_pem)
        path.chmod(0o600)
        paths.append(path)
        rows.append((format(cert.serial_number, "x"), agency, time.time_ns() // 1_000_000))
    return paths, rows


async def _gateway_cli(*args: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=err)


async def run_one(work: Path, n: int, *, fleet_s: float, capacity_s: float, concurrency: int,
                  p_doc: float, say: Callable[[str], None]) -> dict[str, object]:
    concurrency = min(concurrency, n)  # one request in flight per gateway at most
    hub_dir, log = work / f"hub-{n}", work / f"hub-{n}.log"
    directory = work / f"directory-{n}.json"
    await asyncio.to_thread(_write, directory, _directory(n))
    init = await _gateway_cli("hub", "init", "--data", str(hub_dir), "--province", "H35",
                              "--directory", str(directory), "--name", "127.0.0.1", log=log)
    if await init.wait() != 0:
        raise RuntimeError(f"gateway hub init failed; see {log}")
    t = time.monotonic()
    pems = await _enroll_directly(hub_dir, work / f"ids-{n}", n)
    ca_pem = hub_dir / "ca" / "ca.pem"
    sims = [Sim(agency_code(i), client_context(ca_pem, p, p), random.Random(i))
            for i, p in enumerate(pems)]
    setup_s = time.monotonic() - t
    hub = await _gateway_cli("hub", "run", "--data", str(hub_dir), "--listen", "127.0.0.1:0",
                             log=log)
    try:
        assert hub.stdout is not None
        line = (await asyncio.wait_for(hub.stdout.readline(), 30)).decode()
        port = int(line.rsplit(":", 1)[1])
        rec = Recorder(on=True)
        load = Load(port, sims, p_doc, rec)
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
            hub0, gen0, t0 = sample(hub.pid), own_cpu_s(), time.monotonic()
            seconds, skipped = await run()
            wall = time.monotonic() - t0
            hub1, gen1 = sample(hub.pid), own_cpu_s()
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
        return result
    finally:
        for g in sims:
            if g.conn is not None:
                g.conn.close()
        if hub.returncode is None:
            hub.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(hub.wait(), 15)
            except TimeoutError:
                hub.kill()
                await hub.wait()


async def _closed(load: Load, concurrency: int, seconds: float) -> tuple[float, int]:
    return await load.closed_loop(concurrency, seconds), 0
