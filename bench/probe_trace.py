"""Where a Hỏa tốc probe's time goes, from the clerk queuing it to the hub verifying it.

Watched from outside the engine, in the scenario's own process: the gateway's HTTP requests
through aiohttp's tracing hooks on its session (as bench.ledger does), the hub's partial file
of the probe's blob (the hub flushes every frame it decodes), the link proxy's byte counter and
the hub's ``complete_ms``. :func:`phases` cuts the probe's latency into consecutive stretches
that add up to it; docs/benchmarks.md ("Where a Hỏa tốc probe's time goes") reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp

from gateway.protocol.wire import BlobNeed
from gateway.store.blobs import BlobStore
from gateway.sync.uploads import Uploader

HUB_POLL_S = 0.005  # the hub's partial file is a stat() away: cheap to watch closely
PHASES = (
    ("queue", "the clerk's send: document and blob stored, wake-up file touched"),
    ("wake", "woken → the sync that tells the hub starts"),
    ("sync_conn", "that sync waits for or opens a connection (TCP + TLS)"),
    ("sync", "that sync's request → its reply's headers (the hub answers with the need)"),
    ("apply", "reply's headers → the uploader has the need (body, decode, reply stored)"),
    ("pick", "need → the urgent PATCH starts (worker picks, queue order, dictionary)"),
    ("patch_conn", "the PATCH waits for or opens a connection"),
    ("to_first_frame", "connection → the first piece handed to TLS"),
    ("body", "first → last piece handed to TLS (the transport drains at the link's pace)"),
    ("drain", "last piece handed over → the hub holds every byte (bytes queued ahead, 1/2 RTT)"),
    ("verify", "the hub holds every byte → complete_ms (fsync, sha256, routing, commit)"),
)


@dataclass
class Request:
    """One HTTP request of the gateway's session; times on ``time.monotonic``."""

    method: str
    path: str
    start: float
    conn_new: bool | None = None  # None: no connection event (a failure before it)
    conn_ready: float | None = None
    first_piece: float | None = None
    last_piece: float | None = None
    end: float | None = None
    failed: bool = False
    body: int = 0
    link_up_at_first: int = 0  # the proxy's uplink counter when the first piece was handed
    box_queued_at_first: int = 0  # bytes in the gateway's own buffers then (queued_in_box)
    pieces: list[tuple[float, int]] = field(default_factory=list)  # (when, bytes) handed


class ProbeTrace:
    """Records every request of one session; attach once, then :meth:`phases` per probe."""

    def __init__(self, link_bytes_up: Callable[[], int]) -> None:
        self.requests: list[Request] = []
        self.needs: list[tuple[float, frozenset[str]]] = []  # when the uploader got which
        self._link_up = link_bytes_up
        self._session: aiohttp.ClientSession | None = None

    def watch_needs(self, uploader: Uploader) -> None:
        """Times every needs list the engine hands its uploader (from a sync reply), by
        wrapping that one instance's public method: no change to the engine."""
        original = uploader.needs_changed

        def needs_changed(needs: list[BlobNeed], asked_at: float) -> None:
            self.needs.append((time.monotonic(), frozenset(n.sha256 for n in needs)))
            original(needs, asked_at)

        uploader.needs_changed = needs_changed  # type: ignore[method-assign]

    def attach(self, session: aiohttp.ClientSession) -> None:
        tc = aiohttp.TraceConfig()
        tc.on_request_start.append(self._start)
        tc.on_connection_create_end.append(self._created)
        tc.on_connection_reuseconn.append(self._reused)
        tc.on_request_chunk_sent.append(self._chunk)
        tc.on_request_end.append(self._end)
        tc.on_request_exception.append(self._failed)
        tc.freeze()
        session._trace_configs.append(tc)  # a benchmark probe, not an engine dependency
        self._session = session

    async def _start(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                     p: aiohttp.TraceRequestStartParams) -> None:
        ctx.req = Request(p.method, p.url.path, time.monotonic())
        self.requests.append(ctx.req)

    async def _created(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                       _p: aiohttp.TraceConnectionCreateEndParams) -> None:
        ctx.req.conn_new, ctx.req.conn_ready = True, time.monotonic()

    async def _reused(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                      _p: aiohttp.TraceConnectionReuseconnParams) -> None:
        ctx.req.conn_new, ctx.req.conn_ready = False, time.monotonic()

    async def _chunk(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                     p: aiohttp.TraceRequestChunkSentParams) -> None:
        req: Request = ctx.req
        now = time.monotonic()
        if req.first_piece is None:
            req.first_piece, req.link_up_at_first = now, self._link_up()
            if req.method == "PATCH" and self._session is not None:
                req.box_queued_at_first = max(0, queued_in_box(self._session) - len(p.chunk))
        req.last_piece, req.body = now, req.body + len(p.chunk)
        if req.method == "PATCH":
            req.pieces.append((now, len(p.chunk)))

    async def _end(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                   _p: aiohttp.TraceRequestEndParams) -> None:
        ctx.req.end = time.monotonic()

    async def _failed(self, _s: aiohttp.ClientSession, ctx: SimpleNamespace,
                      _p: aiohttp.TraceRequestExceptionParams) -> None:
        ctx.req.end, ctx.req.failed = time.monotonic(), True

    def phases(self, sha256: str, queued: float, sent: float, hub_all: HubWatch,
               verified: float) -> dict[str, float]:
        """The probe's stretches in seconds (keys of :data:`PHASES`, adding up to its
        latency), plus what explains them: ``sync_new_conn``/``patch_new_conn`` (1.0 when
        the request opened a connection), ``patches`` (PATCH requests the probe needed),
        ``bulk_after_need_b`` (bulk body bytes handed to TLS between the need arriving and
        the probe's last piece), ``link_shared_b`` (uplink bytes beyond the probe's own
        while its body was leaving) and ``box_queued_b`` (of those, the bytes still in the
        gateway's own buffers when its first piece was handed over). Empty when the trace
        missed a step (a cut broke it)."""
        syncs = [r for r in self.requests if r.path == "/v1/sync" and r.start >= sent
                 and r.end is not None and not r.failed]
        mine = [r for r in self.requests if r.path == f"/v1/blobs/{sha256}"
                and r.method == "PATCH"]
        done = [r for r in mine if not r.failed and r.end is not None]
        if not syncs or not done or hub_all.all_at is None:
            return {}
        sync, first, last = syncs[0], mine[0], done[-1]
        if first.first_piece is None or last.last_piece is None or sync.end is None:
            return {}
        sync_conn = sync.conn_ready or sync.start
        patch_conn = first.conn_ready or first.start
        need = next((t for t, shas in self.needs if t >= sync.end and sha256 in shas), sync.end)
        need = min(need, first.start)
        out = {
            "queue": sent - queued, "wake": sync.start - sent, "sync_conn": sync_conn - sync.start,
            "sync": sync.end - sync_conn, "apply": need - sync.end, "pick": first.start - need,
            "patch_conn": patch_conn - first.start,
            "to_first_frame": first.first_piece - patch_conn,
            "body": last.last_piece - first.first_piece,
            "drain": hub_all.all_at - last.last_piece, "verify": verified - hub_all.all_at,
            "sync_new_conn": float(bool(sync.conn_new)),
            "patch_new_conn": float(bool(first.conn_new)), "patches": float(len(mine)),
        }
        bulk = [r for r in self.requests if r.method == "PATCH" and r not in mine]
        out["bulk_after_need_b"] = float(sum(
            n for r in bulk for t, n in r.pieces if sync.end <= t <= last.last_piece))
        out["link_shared_b"] = float(max(0, hub_all.link_up_at_all - first.link_up_at_first
                                         - sum(r.body for r in mine)))
        out["box_queued_b"] = float(first.box_queued_at_first)
        return {k: round(v, 3) for k, v in out.items()}


def queued_in_box(session: aiohttp.ClientSession) -> int:
    """Bytes the gateway has handed to its connections that have not reached the link yet:
    asyncio's TLS and socket write buffers and the kernel's send queue (``SIOCOUTQ``; on
    loopback the proxy acknowledges what its socket received at once, so this is what has
    not left the box). Reads aiohttp's and asyncio's private attributes: a measurement
    only, 0 for whatever this Python does not have."""
    total = 0
    for proto in getattr(session.connector, "_acquired", ()):
        tls = getattr(proto, "transport", None)
        if not isinstance(tls, asyncio.WriteTransport):
            continue
        total += tls.get_write_buffer_size()
        raw = getattr(getattr(tls, "_ssl_protocol", None), "_transport", None)
        if isinstance(raw, asyncio.WriteTransport):
            total += raw.get_write_buffer_size()
        sock = tls.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError, ValueError):
            out = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
            total += struct.unpack("i", out)[0]
    return total


class HubWatch:
    """Watches the hub's partial file of one blob: when the hub held every byte (before it
    fsyncs, hashes and routes it), and the uplink counter then."""

    def __init__(self, blobs: BlobStore, sha256: str, size: int,
                 link_bytes_up: Callable[[], int]) -> None:
        self.blobs, self.sha256, self.size = blobs, sha256, size
        self._link_up = link_bytes_up
        self.all_at: float | None = None
        self.link_up_at_all = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while self.all_at is None:
            if self.blobs.partial_size(self.sha256) >= self.size or self.blobs.has(self.sha256):
                self.all_at, self.link_up_at_all = time.monotonic(), self._link_up()
                return
            await asyncio.sleep(HUB_POLL_S)
