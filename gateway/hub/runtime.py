"""Hub data directory, start-up and serving; shared by the CLI, the demo and the tests."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from gateway.hub.access_log import ACCESS_LOG, HubAccessLogger
from gateway.hub.app import build_app
from gateway.hub.axis_settings import AxisSettings
from gateway.hub.listener import ConnLimits, Listener
from gateway.hub.signatures import HubSignatures
from gateway.hub.state import HubState
from gateway.model import AgencyCode, Directory, Problem, Refused
from gateway.security.ca import atomic_write, create_ca, default_server_names
from gateway.security.certs import not_after_s
from gateway.security.offline_ca import hub_ca
from gateway.security.tls import server_context
from gateway.signing.errors import SigningConfigError
from gateway.store.blobs import BlobStore
from gateway.store.db import Database
from gateway.store.hub.documents import HubStore
from gateway.store.hub.epoch import read_epoch
from gateway.store.hub.schema import HUB_MIGRATIONS
from gateway.store.layout import write_atomic

Clock = Callable[[], int]
DEFAULT_CONN_LIMITS = ConnLimits()


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class HubLayout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "hub.json"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def server_cert(self) -> Path:
        return self.root / "tls" / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "tls" / "server-key.pem"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "ca.pem"


def init_hub(root: Path, province: str, directory: Directory,
             names: Sequence[str] = ()) -> HubLayout:
    """Creates the hub's directory, its provincial CA and its TLS server certificate."""
    layout = HubLayout(root)
    if layout.config.exists():
        raise Refused(Problem("hub.exists", f"{root} đã có máy chủ tỉnh.",
                              f"{root} already holds a hub."))
    code = AgencyCode.parse(f"000.00.00.{province}")
    root.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca = create_ca(layout.ca_dir, code.province, now=now)
    cert_pem, key_pem = ca.issue_server_cert(list(names) or default_server_names(), now=now)
    layout.server_cert.parent.mkdir(mode=0o700, exist_ok=True)
    atomic_write(layout.server_key, key_pem, mode=0o600)
    # The leaf alone: every gateway pins the CA already, so sending it in each handshake
    # would only cost bytes on a metered link.
    atomic_write(layout.server_cert, cert_pem, mode=0o644)
    write_atomic(root / "directory.json", directory.to_json().encode())
    write_atomic(layout.config, json.dumps({"province": code.province}).encode())
    return layout


async def open_hub(root: Path, clock: Clock = wall_ms) -> HubState:
    layout = HubLayout(root)
    if not layout.config.exists():
        raise Refused(Problem("hub.missing", f"{root} chưa được khởi tạo ('gateway hub init').",
                              f"{root} is not a hub directory (run 'gateway hub init')."))
    config = json.loads(layout.config.read_text(encoding="utf-8"))
    signatures = HubSignatures.from_settings(root, config)  # a wrong setting: before the DB
    blobs = BlobStore(root / "blobs")
    blobs.cleanup_tmp()
    try:
        signatures.publish(blobs)
    except SigningConfigError as exc:
        raise Refused(exc.problem) from None
    db = await Database.open(root / "hub.sqlite3", HUB_MIGRATIONS)
    store = HubStore(db, blobs, Directory.load(root / "directory.json"), clock)
    await store.reconcile()
    store.national = frozenset(code for code, _ in await store.axis.agencies())
    ca, ca_pem = hub_ca(layout.ca_dir)
    state = HubState(store=store, ca=ca, signatures=signatures, ca_pem=ca_pem,
                     epoch=await read_epoch(db))
    state.cert_expiry_s = {name: not_after_s(path.read_bytes()) for name, path in
                           (("ca", layout.ca_cert), ("server", layout.server_cert))}
    if isinstance(config.get("reserve_bytes"), int):
        state.reserve_bytes = config["reserve_bytes"]
    if isinstance(config.get("restore_days"), int):
        state.restore_days = config["restore_days"]
    if "axis" in config:
        state.axis = AxisSettings.from_config(config["axis"], root)
    return state


def tls_context(root: Path) -> ssl.SSLContext:
    layout = HubLayout(root)
    return server_context(layout.server_cert, layout.server_key, layout.ca_cert)


def _listen_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class RunningHub:
    state: HubState
    runner: web.AppRunner
    port: int
    listener: Listener

    async def close(self) -> None:
        await self.listener.close()
        await self.runner.cleanup()
        await self.state.store.db.close()


async def serve_hub(root: Path, host: str = "127.0.0.1", port: int = 0,
                    clock: Clock = wall_ms, limits: ConnLimits = DEFAULT_CONN_LIMITS
                    ) -> RunningHub:
    """Opens and serves a hub over mutual TLS; ``port=0`` picks a free port.

    The port is bound first, so a port in use fails before anything else is open (an open
    database would keep the process alive after the error)."""
    sock = _listen_socket(host, port)
    try:
        state = await open_hub(root, clock)
    except BaseException:
        sock.close()
        raise
    state.body_idle_s = limits.body_idle_s
    runner = web.AppRunner(build_app(state), access_log_class=HubAccessLogger,
                           access_log=ACCESS_LOG, shutdown_timeout=2.0,
                           keepalive_timeout=limits.idle_s, lingering_time=limits.linger_s)
    try:
        await runner.setup()
        server = runner.server
        assert server is not None  # set by setup()
        listener = Listener(sock, server, tls_context(root), limits)
    except BaseException:
        sock.close()
        await runner.cleanup()
        await state.store.db.close()
        raise
    listener.start()
    return RunningHub(state, runner, int(sock.getsockname()[1]), listener)
