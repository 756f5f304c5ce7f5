"""The box's own health: systemd notify + watchdog, loopback endpoints, the boot-card note."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from gateway.services.admin import init as init_gateway
from gateway.store.layout import Layout, load_config, save_config
from gateway.store.local import LocalStore
from gateway.sync.daemon import wall_ms
from gateway.sync.health import BoxStatus, StatusNote, note
from gateway.sync.watchdog import Notifier, keep_alive
from tests.conftest import COMMUNE_A
from tests.security.hostile import Hub


class Listener:
    """An AF_UNIX datagram socket standing in for systemd: every message, with its time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.got: list[tuple[float, dict[str, str]]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.done.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.got.append((time.monotonic(), fields))

    def pings(self) -> list[float]:
        return [t for t, f in self.got if f.get("WATCHDOG") == "1"]

    def close(self) -> None:
        self.done.set()
        self.thread.join()
        self.sock.close()


@contextmanager
def listening(path: Path) -> Iterator[Listener]:
    listener = Listener(path)
    try:
        yield listener
    finally:
        listener.close()


async def test_watchdog_pings_only_while_loop_and_store_answer(tmp_path: Path) -> None:
    await init_gateway(str(tmp_path / "gw"), COMMUNE_A, None, None)
    store = await LocalStore.open(Layout(tmp_path / "gw"), wall_ms)
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    stop = asyncio.Event()
    try:
        with listening(tmp_path / "notify") as systemd:
            task = asyncio.create_task(keep_alive(Notifier(env), store.db.ping,
                                                  lambda: "online", stop))
            await asyncio.sleep(0.6)
            blocked_at = time.monotonic()
            time.sleep(1.0)  # the event loop is blocked: a stuck daemon
            unblocked_at = time.monotonic()
            await asyncio.sleep(0.6)
            stop.set()
            await task
            await asyncio.sleep(0.2)
        first = systemd.got[0][1]
        assert first["READY"] == "1" and first["STATUS"] == "online"
        pings = systemd.pings()
        assert len([t for t in pings if t < blocked_at]) >= 4  # every 0.1 s
        assert not [t for t in pings if blocked_at + 0.05 < t < unblocked_at]
        assert len([t for t in pings if t > unblocked_at]) >= 3
        assert systemd.got[-1][1] == {"STOPPING": "1"}

        async def stuck_store() -> None:
            await asyncio.Event().wait()  # a query that never answers

        stop.clear()
        (tmp_path / "notify").unlink()
        with listening(tmp_path / "notify") as systemd:
            task = asyncio.create_task(keep_alive(Notifier(env), stuck_store, lambda: "x", stop))
            await asyncio.sleep(0.6)
            stop.set()
            await task
            await asyncio.sleep(0.2)
        assert systemd.got[0][1]["READY"] == "1" and systemd.pings() == []
    finally:
        await store.close()


def test_notifier_is_silent_without_systemd() -> None:
    assert not Notifier({}).send(READY="1")
    assert Notifier({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "5000000",
                     "WATCHDOG_PID": "1"}).watchdog_s is None  # someone else's watchdog
    assert Notifier({"NOTIFY_SOCKET": "@x"}).address == "\0x"


def test_note_is_plain_vietnamese_and_written_only_on_change(tmp_path: Path) -> None:
    status = BoxStatus(online=False, last_sync_ms=1_764_640_800_000,
                       last_error="HubUnavailable: connection refused", queue=2, dead=1,
                       inbox_downloading=0, disk_free=3 * 2**30, skew_ms=-900_000,
                       version="0.1.0")
    text = note(status, COMMUNE_A)
    assert "MẤT KẾT NỐI" in text and "09:00 ngày 02/12/2025 (giờ Việt Nam)" in text
    assert "HubUnavailable: connection refused" in text and "Đồng hồ lệch -15 phút" in text
    target = StatusNote(tmp_path / "commune-status.txt")
    target.update(text)
    first = (tmp_path / "commune-status.txt").stat().st_mtime_ns
    time.sleep(0.01)
    target.update(text)
    assert (tmp_path / "commune-status.txt").stat().st_mtime_ns == first
    assert (tmp_path / "commune-status.txt").read_bytes().decode() == text
    StatusNote(tmp_path / "missing" / "x.txt").update(text)  # logged, not raised


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_gateway_run_serves_health_keeps_the_note_and_notifies(tmp_path: Path) -> None:
    hub = await Hub.start(tmp_path / "hub")
    data = tmp_path / "gw"
    try:
        await hub.enroll(COMMUNE_A, data)
        port = _free_port()
        layout = Layout(data)
        save_config(layout, dataclasses.replace(
            load_config(layout), health_listen=f"127.0.0.1:{port}",
            status_file=str(tmp_path / "boot" / "commune-status.txt")))
        (tmp_path / "boot").mkdir()
        with listening(tmp_path / "notify") as systemd:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "run", "--data", str(data),
                env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"),
                     "WATCHDOG_USEC": "1000000"},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            try:
                status = await _until_online(port, proc, layout.wakeup)
                assert status["version"] and status["queue"] == 0 and status["disk_free"] > 0
                assert status["last_sync_ms"] is not None
                async with aiohttp.ClientSession() as http:
                    for path, body in (("/healthz", "ok\n"), ("/readyz", "ready\n")):
                        async with http.get(f"http://127.0.0.1:{port}{path}") as r:
                            assert (r.status, await r.text()) == (200, body)
                note_file = tmp_path / "boot" / "commune-status.txt"
                for _ in range(100):  # rewritten within STATUS_EVERY_S of the change
                    text = note_file.read_text("utf-8")
                    if "ĐANG HOẠT ĐỘNG" in text:
                        break
                    await asyncio.sleep(0.1)
                assert "ĐANG HOẠT ĐỘNG" in text and COMMUNE_A in text
                assert systemd.got[0][1]["READY"] == "1"
                await asyncio.sleep(1.2)
                assert len(systemd.pings()) >= 2
                os.kill(proc.pid, signal.SIGSTOP)  # the whole daemon stuck
                stopped = time.monotonic()
                await asyncio.sleep(1.5)
                assert not [t for t in systemd.pings() if t > stopped + 0.1]
                os.kill(proc.pid, signal.SIGCONT)
                await asyncio.sleep(1.2)
                assert [t for t in systemd.pings() if t > stopped + 1.5]
            finally:
                proc.terminate()
                _, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
            assert systemd.got[-1][1] == {"STOPPING": "1"}
    finally:
        await hub.close()


async def _until_online(port: int, proc: asyncio.subprocess.Process,
                        wakeup: Path) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/status") as r:
                    status: dict[str, Any] = json.loads(await r.text())
                    if status["online"]:
                        return status
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
            if proc.returncode is not None:
                break
            wakeup.touch()  # end the first long-poll now, as `gateway send` would
    assert proc.stderr is not None
    proc.kill()
    raise AssertionError(f"the daemon never came online: {await proc.stderr.read()!r}")


async def test_hub_run_is_ready_only_once_it_listens_and_pings_the_watchdog(
        tmp_path: Path) -> None:
    """commune-hub.service is Type=notify with WatchdogSec: READY=1 comes after the port is
    open, STATUS says what it serves, pings keep coming, STOPPING=1 at the end."""
    init = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "hub", "init", "--data", str(tmp_path / "hub"),
        "--province", "H35", stdout=asyncio.subprocess.DEVNULL)
    assert await init.wait() == 0
    port = _free_port()
    with listening(tmp_path / "notify") as systemd:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "hub", "run", "--data", str(tmp_path / "hub"),
            "--listen", f"127.0.0.1:{port}",
            env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"),
                 "WATCHDOG_USEC": "1000000"},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            for _ in range(150):
                if systemd.got:
                    break
                await asyncio.sleep(0.1)
            ready = systemd.got[0][1]
            assert ready["READY"] == "1" and "connections" in ready["STATUS"]
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass  # listening by the time it said so
            await asyncio.sleep(1.2)
            assert len(systemd.pings()) >= 2
        finally:
            proc.terminate()
            _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        await asyncio.sleep(0.2)
        assert systemd.got[-1][1] == {"STOPPING": "1"}
