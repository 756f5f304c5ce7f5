"""``gateway run``: the sync engine with its data directory, identity and wake-up file.

When the engine fails in a way it does not expect, the daemon logs why in one line and
exits non-zero, so that systemd restarts it (``Restart=always``) with a clean slate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from gateway.model import Problem, Refused
from gateway.security.identity import load_identity
from gateway.security.tls import client_context
from gateway.signing.config import SigningConfig
from gateway.signing.errors import SigningConfigError
from gateway.store.layout import GatewayConfig, Layout, load_config, split_listen
from gateway.store.local import LocalStore
from gateway.store.repair import sweep_orphans
from gateway.sync import health
from gateway.sync.client import SyncClient
from gateway.sync.link import HubLink
from gateway.sync.transport import DEFAULT_SNDBUF, HubClient
from gateway.sync.watchdog import Notifier, keep_alive

WAKE_POLL_S = 0.1  # a clerk's document waits for this poll: half of it on average
log = logging.getLogger("gateway.sync")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Gateway:
    """A running gateway: its store, its link to the hub and its sync engine."""

    layout: Layout
    config: GatewayConfig
    store: LocalStore
    hub: HubLink
    client: SyncClient

    async def close(self) -> None:
        await self.hub.close()
        await self.store.close()


async def open_gateway(data: Path, *, wait_s: int = 60, sndbuf: int | None = DEFAULT_SNDBUF,
                       hub_url: str | None = None, seed: int | None = None) -> Gateway:
    layout = Layout(data)
    config = load_config(layout)
    url = hub_url or config.hub
    if not url:
        raise Refused(Problem("hub.unset", "Chưa cấu hình địa chỉ máy chủ tỉnh (--hub).",
                              "No hub address configured (--hub)."))
    identity = load_identity(data)
    if identity is None:
        raise Refused(Problem("identity.missing",
            "Máy chưa đăng ký với máy chủ tỉnh; chạy 'gateway enroll' với mã đăng ký.",
            "This box is not enrolled; run 'gateway enroll' with an enrollment token."))
    ssl_ctx = client_context(identity.ca_path, identity.cert_path, identity.key_path)
    store = await LocalStore.open(layout, wall_ms, check=True)
    try:
        swept = await sweep_orphans(store)  # files of sends killed before their commit
    except BaseException:
        await store.close()
        raise
    if swept:
        log.info("removed %d unreferenced blob file(s)", len(swept))
    hub = HubClient(url, ssl_ctx, sndbuf=sndbuf)
    client = SyncClient(store, hub, clock=wall_ms, rng=random.Random(seed), wait_s=wait_s,
                        agency=config.agency, reserve_bytes=config.reserve_bytes,
                        signing=_signing(config))
    return Gateway(layout, config, store, hub, client)


def _signing(config: GatewayConfig) -> SigningConfig | None:
    """The box's signing section; a wrong one is logged and signatures wait unchecked, since
    verification must never stop documents from arriving."""
    try:
        return SigningConfig.from_json(config.signing)
    except SigningConfigError as exc:
        log.error("signatures will not be checked: %s", exc)
        return None


async def watch_wakeup(layout: Layout, client: SyncClient, stop: asyncio.Event) -> None:
    """CLI commands in other processes touch the wake-up file; a stat ten times a second is
    cheap on an SD card (metadata is cached) and needs no inotify. A Hỏa tốc document waits
    for the next one: at twice a second that was 0.25 s on average, a sixth of a 90 KB
    document's own time on ADSL (docs/benchmarks.md, "Where a Hỏa tốc probe's time goes")."""
    last = 0.0
    while not stop.is_set():
        with contextlib.suppress(FileNotFoundError):
            mtime = layout.wakeup.stat().st_mtime
            if mtime != last:
                last = mtime
                client.wake()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WAKE_POLL_S)


async def supervise(client: SyncClient, layout: Layout, stop: asyncio.Event) -> int:
    """Runs the engine until ``stop``: 0 then, 1 after logging what ended it otherwise."""
    watcher = asyncio.create_task(watch_wakeup(layout, client, stop))
    try:
        await client.run(stop)
    except Exception as exc:
        log.error("sync engine failed, exiting: %s: %s", type(exc).__name__, exc,
                  exc_info=exc)
        return 1
    finally:
        stop.set()
        await watcher
    return 0


def describe(client: SyncClient) -> str:
    """One line for ``systemctl status`` (the notify protocol's STATUS=)."""
    stats = client.stats
    link = "online" if stats.online else f"offline: {stats.last_error[:80] or 'not yet synced'}"
    return f"{link}; {stats.syncs} syncs, {stats.failures} failures"


async def _health_server(gw: Gateway) -> web.AppRunner | None:
    """The loopback health endpoints, if configured; a taken port is logged, not fatal (the
    daemon's job is to sync, and a second daemon on a test machine is not an error)."""
    where = split_listen(gw.config.health_listen) if gw.config.health_listen else None
    if where is None:
        return None
    try:
        return await health.serve(gw.client, *where)
    except OSError as exc:
        log.warning("health endpoints not served on %s: %s", gw.config.health_listen, exc)
        return None


async def run_daemon(data: Path, stop: asyncio.Event, notifier: Notifier | None = None) -> int:
    """``gateway run``; returns the process's exit status."""
    gw = await open_gateway(data)
    runner = await _health_server(gw)
    helpers = [asyncio.create_task(keep_alive(
        notifier or Notifier(), gw.store.db.ping, lambda: describe(gw.client), stop))]
    note = Path(gw.config.status_file) if gw.config.status_file else None
    if note is not None and note.parent.is_dir():
        helpers.append(asyncio.create_task(health.keep_note(
            gw.client, gw.config.agency, health.StatusNote(note), stop)))
    try:
        return await supervise(gw.client, gw.layout, stop)
    finally:
        stop.set()
        for failed in await asyncio.gather(*helpers, return_exceptions=True):
            if isinstance(failed, Exception):  # health is advisory: log it, keep the status
                log.error("health task failed: %s: %s", type(failed).__name__, failed)
        if runner is not None:
            await runner.cleanup()
        await gw.close()
