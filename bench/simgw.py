"""Simulated gateways for the hub benchmarks: identities, a `gateway hub run` process, a client.

Shortcut (documented in docs/benchmarks.md): the N identities are not enrolled through
``/v1/enroll`` one by one. Their certificates are issued directly by the hub's CA
(``load_ca`` + ``sign_csr``, exactly what enrollment calls) and their serials inserted into the
hub's ``certificates`` table before the hub starts, so the hub authenticates and revocation-
checks them on every request as it would enrolled boxes.

Thousands of connections from one address would meet the hub's per-source cap (and run out
of ephemeral ports past ~28,000), so gateway ``i`` connects from its own loopback address,
``PER_SOURCE`` gateways to an address (:func:`source_address`). The client side reads TLS
through the hub's shared-buffer protocol too: with asyncio's own, 10,000 client connections
would cost the load generator 2.5 GB.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import signal
import socket
import ssl
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import __version__
from gateway.hub.runtime import init_hub
from gateway.hub.tls_protocol import start_tls_on
from gateway.model import Directory, Envelope
from gateway.protocol.compression import SyncCompressor
from gateway.protocol.limits import SYNC_TYPE
from gateway.protocol.wire import NodeReport, SyncReply, SyncRequest, decode_reply, encode_request
from gateway.security.ca import load_ca, private_key_pem
from gateway.security.identity import csr_for
from gateway.security.tls import client_context
from gateway.store.db import Database
from gateway.store.hub.schema import HUB_MIGRATIONS

PER_SOURCE = 100  # gateways per loopback source address (the hub allows 128)
_COMP = SyncCompressor()
_DICT = _COMP.newest()


def agency_code(i: int) -> str:
    """Distinct level-4 codes that are in no real directory: 001.00.99.H35, 001.01.99.H35 …"""
    return f"{i // 100 + 1:03d}.{i % 100:02d}.99.H35"


def source_address(i: int) -> str:
    """127.1.0.1 for gateways 0–99, 127.1.0.2 for 100–199, …"""
    k = i // PER_SOURCE
    return f"127.1.{k // 250}.{k % 250 + 1}"


def raise_fd_limit(need: int) -> int:
    """Raises this process's open-file limit (inherited by the hub it starts) to ``need``
    if the hard limit allows, or as root; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    new_hard = hard if hard == resource.RLIM_INFINITY or hard >= need else need
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, new_hard))
    except (ValueError, OSError):  # raising the hard limit takes root: go as far as it allows
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def directory_json(n: int) -> str:
    sample = json.loads(Directory.sample().to_json())["agencies"]
    sims = [{"code": agency_code(i), "name": f"UBND xã mô phỏng {i}"} for i in range(n)]
    return json.dumps({"agencies": sample + sims}, ensure_ascii=False)


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


async def enroll_directly(hub_dir: Path, ids_dir: Path, n: int) -> list[Path]:
    """The shortcut: issue N client certificates with the hub CA, record their serials."""
    paths, rows = await asyncio.to_thread(_issue, hub_dir, ids_dir, n)
    db = await Database.open(hub_dir / "hub.sqlite3", HUB_MIGRATIONS)
    try:
        await db.write(lambda c: c.executemany(
            "INSERT INTO certificates(serial, agency, issued_ms) VALUES (?,?,?)", rows))
    finally:
        await db.close()
    return paths


async def gateway_cli(*args: str, log: Path) -> asyncio.subprocess.Process:
    """``python -m gateway.cli ARGS`` with stdout piped and stderr appended to ``log``."""
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=err)


@dataclass
class HubProcess:
    """A `gateway hub run` process with N simulated gateways enrolled directly."""

    proc: asyncio.subprocess.Process
    port: int
    ca: Path
    identities: list[Path]

    @classmethod
    async def start(cls, work: Path, n: int) -> HubProcess:
        hub_dir, log = work / f"hub-{n}", work / f"hub-{n}.log"
        directory = Directory.from_json(directory_json(n))
        await asyncio.to_thread(init_hub, hub_dir, "H35", directory, ["127.0.0.1"])
        pems = await enroll_directly(hub_dir, work / f"ids-{n}", n)
        proc = await gateway_cli("hub", "run", "--data", str(hub_dir), "--listen",
                                 "127.0.0.1:0", log=log)
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            port = int(line.rsplit(":", 1)[1])
        except BaseException:
            await _stop(proc)
            raise
        return cls(proc, port, hub_dir / "ca" / "ca.pem", pems)

    async def stop(self) -> None:
        await _stop(self.proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class Conn:
    """Just enough HTTP/1.1 keep-alive client: light on CPU, so the hub is what is measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, ctx: ssl.SSLContext, source: str = "127.0.0.1") -> Conn:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.bind((source, 0))
            await loop.sock_connect(sock, ("127.0.0.1", port))
        except BaseException:
            sock.close()
            raise
        reader = asyncio.StreamReader(limit=2**20, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport = await start_tls_on(sock, protocol, ctx, server_side=False,
                                       server_hostname="127.0.0.1", handshake_s=60)
        return cls(reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    def close(self) -> None:
        self.writer.transport.abort()

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        await self.send(method, path, headers, body)
        return await self.response(method)

    async def send(self, method: str, path: str, headers: dict[str, str],
                   body: bytes = b"") -> None:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.writer.write("\r\n".join(head).encode() + body)
        await self.writer.drain()

    async def response(self, method: str) -> tuple[int, dict[str, str], bytes]:
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
    """One simulated gateway: its identity, connection and sync state."""

    index: int
    ctx: ssl.SSLContext
    rng: random.Random
    conn: Conn | None = None
    rcursor: int = 0
    acks: list[int] = field(default_factory=list)
    busy: bool = False

    @property
    def agency(self) -> str:
        return agency_code(self.index)

    @property
    def source(self) -> str:
        return source_address(self.index)

    async def connection(self, port: int) -> Conn:
        if self.conn is None:
            self.conn = await Conn.open(port, self.ctx, self.source)
        return self.conn

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def sims(hub: HubProcess) -> list[Sim]:
    return [Sim(i, client_context(hub.ca, p, p), random.Random(i))
            for i, p in enumerate(hub.identities)]


def sync_message(g: Sim, out: tuple[Envelope, ...], acks: tuple[int, ...],
                 wait: int) -> tuple[dict[str, str], bytes]:
    """Headers and compressed body of a sync: heartbeat, ``out``, ``acks``, ``wait`` s."""
    now = time.time_ns() // 1_000_000
    req = SyncRequest(node=NodeReport(__version__, now, len(out), 8 * 2**30, 0, 3600),
                      out=out, acks=acks, statuses=(), rcursor=g.rcursor, wait=wait)
    headers = {"Content-Type": SYNC_TYPE, "X-Sync-Dict": str(_DICT),
               "X-Sync-Dicts": _COMP.offer()}
    return headers, _COMP.compress(encode_request(req), _DICT)


def sync_reply(g: Sim, headers: dict[str, str], raw: bytes) -> SyncReply:
    """Decodes a sync reply and moves ``g``'s receipt cursor past its receipts."""
    reply = decode_reply(_COMP.decompress(raw, int(headers.get("x-sync-dict", "0"))))
    g.rcursor = max((r.rseq for r in reply.receipts), default=g.rcursor)
    return reply
