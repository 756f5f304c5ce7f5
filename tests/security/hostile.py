"""Machinery for the hostile suite: a real hub over mutual TLS, peers, snapshots, one verdict.

Every refused request goes through :func:`refused`, which snapshots the hub before and after
and checks the reply: a 4xx, a short plain body, no trace. The snapshot is every SQLite table
(``sqlite_sequence`` included, so even a rolled-back AUTOINCREMENT would show) plus every file
and directory under the blob root with its size (partials and temp files included).

The ``gateways`` table is the one exception, and only for requests the hub answers ``200``
while refusing their content item by item (an envelope ``from`` another agency, an ack of a
foreign seq, a status for someone else's document): such a request is authenticated and
well-formed, so the hub records the caller's heartbeat — its own row only, and nothing else.
A request refused at the HTTP level (4xx) must leave ``gateways`` untouched as well.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import msgpack
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gateway.hub.enrollment import create_token
from gateway.hub.runtime import HubLayout, RunningHub, init_hub, serve_hub
from gateway.model import Directory, Envelope
from gateway.protocol.compression import SyncCompressor
from gateway.protocol.frames import FRAME_HEADER, FrameEncoder
from gateway.protocol.limits import FRAMES_TYPE as FRAMES_TYPE
from gateway.protocol.limits import SYNC_TYPE as SYNC_TYPE
from gateway.protocol.wire import (
    NodeReport,
    StatusMsg,
    SyncReply,
    SyncRequest,
    decode_reply,
    encode_request,
)
from gateway.security.tls import client_context
from gateway.services.admin import init as init_gateway
from gateway.store.db import Conn
from gateway.store.hub.documents import HubStore
from gateway.sync.enroll import ca_fingerprint, enroll
from tests.factories import attachment, envelope

A = "000.00.31.H35"  # commune, sender in most scenarios
B = "000.00.32.H35"  # commune, its neighbour and usual recipient
C = "000.00.33.H35"  # the curious neighbour commune
OFFICE = "000.00.01.H35"
NODE: dict[str, object] = {"version": "sec-test", "clock_ms": 0, "queue": 0,
                           "disk_free": 10**10, "blobs_bad": 0, "uptime_s": 1}
MAX_ERROR_BODY = 512
COMPRESSOR = SyncCompressor()


# ---------------------------------------------------------------- ledger of hostile requests


@dataclass
class Ledger:
    """Distinct hostile requests that got a verdict, by category (reported at the end)."""

    seen: dict[str, set[str]] = field(default_factory=dict)
    verdicts: dict[str, set[str]] = field(default_factory=dict)

    def record(self, category: str, fingerprint: str, verdict: str) -> None:
        """``verdict``: "4xx" refused, "2xx" answered but its hostile part had no effect,
        "tls" refused by the handshake, "hang-up" no answer possible (client went away),
        "closed" a slow or surplus connection the hub closed, "inert" remote text that reached
        a clerk's screen with every control escaped."""
        self.seen.setdefault(category, set()).add(fingerprint)
        self.verdicts.setdefault(verdict, set()).add(f"{category}:{fingerprint}")

    def lines(self) -> list[str]:
        total = sum(len(v) for v in self.seen.values())
        by_verdict = ", ".join(f"{k} {len(v)}" for k, v in sorted(self.verdicts.items()))
        rows = [f"  {k:<28} {len(v):>4}" for k, v in sorted(self.seen.items())]
        return [f"security: {total} distinct hostile requests ({by_verdict})", *rows]


LEDGER = Ledger()


# ---------------------------------------------------------------- replies and verdicts


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    fingerprint: str  # what was sent, for the ledger


Statuses = frozenset[int] | set[int] | tuple[int, ...] | range


def check_refusal(reply: Reply, allowed: Statuses | None = None) -> None:
    assert 400 <= reply.status < 500, (reply.status, reply.body[:300])
    if allowed is not None:
        assert reply.status in allowed, (reply.status, reply.body[:300])
    check_body(reply)


def check_body(reply: Reply) -> None:
    """Short, plain, no Python internals: a remote party learns a reason, not the code."""
    assert len(reply.body) <= MAX_ERROR_BODY, reply.body[:200]
    for leak in (b"Traceback", b'File "', b"Error:\n", b"/work/", b".py\""):
        assert leak not in reply.body, reply.body[:300]
    reply.body.decode("utf-8")


# ---------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, list[tuple[object, ...]]]
    files: dict[str, int]


def _walk(root: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = -1 if path.is_dir() else path.stat().st_size
    return found


def assert_same(before: Snapshot, after: Snapshot, heartbeat_of: str | None = None) -> None:
    assert before.files == after.files, "blob directory changed"
    assert before.tables.keys() == after.tables.keys()
    for name, rows in before.tables.items():
        now = after.tables[name]
        if name == "gateways" and heartbeat_of is not None:
            # Only the caller's own heartbeat row may move, and its first sighting may not.
            first = {r[0]: r[1] for r in rows}
            assert all(first.get(r[0], r[1]) == r[1] for r in now), "first_seen_ms changed"
            rows = [r for r in rows if r[0] != heartbeat_of]
            now = [r for r in now if r[0] != heartbeat_of]
        assert rows == now, f"table {name} changed"


# ---------------------------------------------------------------- peers


class Peer:
    """One TLS identity talking to the hub over one keep-alive aiohttp session."""

    def __init__(self, base: str, ctx: ssl.SSLContext, agency: str | None) -> None:
        self.base = base
        self.ctx = ctx
        self.agency = agency
        self._session: aiohttp.ClientSession | None = None
        self.connections = 0  # TLS connections opened so far (keep-alive checks)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()
            trace.on_connection_create_end.append(self._opened)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.ctx, limit=1),
                timeout=aiohttp.ClientTimeout(total=30), trace_configs=[trace])
        return self._session

    async def _opened(self, session: aiohttp.ClientSession, context: SimpleNamespace,
                      params: aiohttp.TraceConnectionCreateEndParams) -> None:
        self.connections += 1

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, *, body: bytes | None = None,
                      headers: Mapping[str, str] | None = None,
                      params: Mapping[str, str] | None = None,
                      stream: Callable[[], AsyncIterator[bytes]] | None = None) -> Reply:
        data: bytes | io.BytesIO | AsyncIterator[bytes] | None = (
            stream() if stream is not None
            else io.BytesIO(body) if body is not None and len(body) > 2**20 else body)
        async with self.session.request(method, self.base + path, data=data,
                                        headers=dict(headers or {}), params=params,
                                        allow_redirects=False) as resp:
            raw = await resp.read()
            hdrs = {k: v for k, v in resp.headers.items()}
        print_ = hashlib.sha256(repr((self.agency, method, path, sorted((headers or {}).items()),
                                      sorted((params or {}).items()),
                                      hashlib.sha256(body or b"").hexdigest(),
                                      stream is not None)).encode()).hexdigest()
        return Reply(resp.status, hdrs, raw, print_)

    async def sync_raw(self, body: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        return await self.request("POST", "/v1/sync", body=body, headers={
            "Content-Type": SYNC_TYPE, "X-Sync-Dict": "0", **(headers or {})})

    async def sync(self, out: tuple[Envelope, ...] = (), acks: tuple[int, ...] = (),
                   statuses: tuple[StatusMsg, ...] = (), rcursor: int = 0) -> SyncReply:
        reply = await self.sync_raw(sync_request(out, acks, statuses, rcursor))
        assert reply.status == 200, (reply.status, reply.body[:300])
        return decode_reply(COMPRESSOR.decompress(reply.body, 0))

    async def patch(self, sha: str, offset: int, length: int, body: bytes) -> Reply:
        return await self.request("PATCH", f"/v1/blobs/{sha}", body=body, headers={
            "Upload-Offset": str(offset), "Upload-Length": str(length),
            "Content-Type": FRAMES_TYPE})


def sync_request(out: tuple[Envelope, ...] = (), acks: tuple[int, ...] = (),
                 statuses: tuple[StatusMsg, ...] = (), rcursor: int = 0) -> bytes:
    node = NodeReport("sec-test", 0, 0, 10**10, 0, 1)
    req = SyncRequest(node, out, acks, statuses, rcursor, 0)
    return COMPRESSOR.compress(encode_request(req), 0)


def plain_request(**override: object) -> dict[str, object]:
    base: dict[str, object] = {"v": 1, "node": dict(NODE), "out": [], "acks": [],
                               "statuses": [], "rcursor": 0, "wait": 0}
    base.update(override)
    return base


def packed(obj: object, dict_id: int = 0) -> bytes:
    """``obj`` as a sync body: msgpack in one zstd frame that declares its size."""
    return COMPRESSOR.compress(msgpack.packb(obj, use_bin_type=True), dict_id)


def frames(data: bytes, size: int = 16 * 1024) -> bytes:
    enc = FrameEncoder()
    return b"".join(enc.encode(data[i:i + size]) for i in range(0, len(data), size)) \
        if data else b""


def raw_frame(payload: bytes, *, kind: int = 0, raw_len: int | None = None,
              crc: int | None = None, wire_len: int | None = None) -> bytes:
    """A frame with any header field forced, for lying frames."""
    raw_len = len(payload) if raw_len is None else raw_len
    wire_len = len(payload) if wire_len is None else wire_len
    crc = zlib.crc32(payload) if crc is None else crc
    return FRAME_HEADER.pack(kind, wire_len, raw_len, crc) + payload


# ---------------------------------------------------------------- the hub


class Hub:
    """A real hub served over mutual TLS on loopback, with enrolled gateways."""

    def __init__(self, root: Path, running: RunningHub) -> None:
        self.root = root
        self.running = running
        self.layout = HubLayout(root)
        self.url = f"https://127.0.0.1:{running.port}"
        self.peers: dict[str, Peer] = {}
        self.anonymous = Peer(self.url, client_context(self.layout.ca_cert), None)

    @classmethod
    async def start(cls, root: Path) -> Hub:
        init_hub(root, "H35", Directory.sample(), ["127.0.0.1", "localhost"])
        return cls(root, await serve_hub(root))

    @property
    def store(self) -> HubStore:
        return self.running.state.store

    async def close(self) -> None:
        for peer in [*self.peers.values(), self.anonymous]:
            await peer.close()
        await self.running.close()

    async def token(self, agency: str, ttl: timedelta = timedelta(hours=1),
                    kind: str = "enroll") -> str:
        return await create_token(self.running.state.store, agency, ttl, kind=kind)

    def fingerprint(self) -> str:
        return ca_fingerprint(self.layout.ca_cert.read_bytes())

    async def enroll(self, agency: str, data: Path) -> Peer:
        await init_gateway(str(data), agency, self.url, None)
        token = await self.token(agency)
        identity = await enroll(data, agency, self.url, f"{token}@{self.fingerprint()}")
        ctx = client_context(identity.ca_path, identity.cert_path, identity.key_path)
        peer = Peer(self.url, ctx, agency)
        self.peers[agency] = peer
        return peer

    def peer_with(self, cert: Path, key: Path, label: str) -> Peer:
        return Peer(self.url, client_context(self.layout.ca_cert, cert, key), label)

    async def snapshot(self) -> Snapshot:
        # The signature checker writes verdicts of earlier uploads in the background.
        idle = self.running.state.signatures.idle
        if not idle.is_set():
            await asyncio.wait_for(idle.wait(), 60)
        # Heartbeats wait in memory for the next batched write (every 2 s). Writing them now
        # means a timer firing between two snapshots cannot look like a change, and a heartbeat
        # the hostile request itself left behind is seen in the second snapshot.
        await self.running.state.store.flush_heartbeats()
        db = self.running.state.store.db

        async def read(conn: Conn) -> dict[str, list[tuple[object, ...]]]:
            names = [str(r[0]) for r in await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            out: dict[str, list[tuple[object, ...]]] = {}
            for name in names:
                rows = await conn.execute_fetchall(f'SELECT * FROM "{name}" ORDER BY rowid')
                out[name] = [tuple(r) for r in rows]
            return out

        return Snapshot(await db.read(read), _walk(self.root / "blobs"))

    async def settle(self) -> None:
        """Waits until no upload handler is still running (a hung-up client's included)."""
        for _ in range(200):
            if not self.running.state.uploads:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("an upload handler never finished")

    async def healthy(self) -> None:
        reply = await self.anonymous.request("GET", "/healthz")
        assert reply.status == 200 and reply.body == b"ok\n", reply



async def refused(hub: Hub, category: str, send: Callable[[], Awaitable[Reply]], *,
                  allowed: Statuses | None = None, heartbeat_of: str | None = None) -> Reply:
    """Sends one hostile request: it must be refused with a 4xx and change nothing."""
    before = await hub.snapshot()
    reply = await send()
    check_refusal(reply, allowed)
    await hub.settle()
    assert_same(before, await hub.snapshot(), heartbeat_of)
    LEDGER.record(category, reply.fingerprint, "4xx")
    return reply


async def neutral(hub: Hub, category: str, send: Callable[[], Awaitable[Reply]], *,
                  status: int = 200, heartbeat_of: str | None = None) -> Reply:
    """A hostile request answered with ``status`` whose hostile part changes nothing."""
    before = await hub.snapshot()
    reply = await send()
    assert reply.status == status, (reply.status, reply.body[:300])
    await hub.settle()
    assert_same(before, await hub.snapshot(), heartbeat_of)
    LEDGER.record(category, reply.fingerprint, f"{status // 100}xx")
    return reply


async def tls_refused(hub: Hub, category: str, peer: Peer, path: str = "/v1/sync") -> None:
    """A certificate the TLS layer itself refuses: no HTTP exchange at all, nothing changes."""
    before = await hub.snapshot()
    try:
        reply = await peer.request("POST", path, body=sync_request(),
                                   headers={"Content-Type": SYNC_TYPE, "X-Sync-Dict": "0"})
    except (aiohttp.ClientError, ssl.SSLError, ConnectionError):
        reply = None
    finally:
        await peer.close()
    assert reply is None, f"the handshake succeeded: {reply}"
    assert_same(before, await hub.snapshot())
    LEDGER.record(category, f"tls:{peer.agency}:{path}", "tls")


# ---------------------------------------------------------------- documents and blobs


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def doc(sender: str, to: str, *blobs: bytes) -> Envelope:
    """A valid envelope from ``sender`` to ``to`` carrying ``blobs`` as attachments."""
    atts = tuple(attachment(f"tep-{i}.pdf", data) for i, data in enumerate(blobs))
    return envelope(sender, (to,), attachments=atts)


async def upload(peer: Peer, data: bytes) -> Reply:
    reply = await peer.patch(sha(data), 0, len(data), frames(data))
    assert reply.status == 204 and reply.headers.get("Upload-Complete") == "1", reply
    return reply


# Shared by the hypothesis-driven hostile tests.
packable_ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # msgpack's range
HOSTILE = settings(max_examples=25, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])
