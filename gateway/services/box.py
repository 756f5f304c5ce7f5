"""Opening a box's data directory: its config and store, its agency directory, the clock, and
the wake-up file that tells a running daemon to sync now."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from gateway.model import Directory, Problem, Refused
from gateway.store.layout import GatewayConfig, Layout, load_config, not_initialised
from gateway.store.local import LocalStore


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def load_directory(layout: Layout) -> Directory:
    """The directory ``init`` saved in the data directory; the sample one when there is none."""
    if layout.directory.exists():
        return Directory.load(layout.directory)
    return Directory.sample()


def load_directory_file(path: str | None) -> Directory:
    if path is None:
        return Directory.sample()
    try:
        return Directory.load(Path(path))
    except FileNotFoundError:
        raise Refused(Problem("directory.missing", f"Không thấy tệp danh bạ {path}",
                              f"Directory file {path} not found")) from None


def read_config(data: str) -> tuple[Layout, GatewayConfig]:
    layout = Layout(Path(data))
    if not layout.config.exists():
        raise not_initialised(layout.root)
    return layout, load_config(layout)


@dataclass(frozen=True)
class Box:
    """An opened data directory."""

    layout: Layout
    config: GatewayConfig
    store: LocalStore


@contextlib.asynccontextmanager
async def opened(data: str) -> AsyncIterator[Box]:
    layout, config = await asyncio.to_thread(read_config, data)
    store = await LocalStore.open(layout, wall_ms)
    try:
        yield Box(layout, config, store)
    finally:
        await store.close()


def wake_daemon(layout: Layout) -> None:
    """Signals a running daemon (it watches this file's mtime) to sync now."""
    with contextlib.suppress(OSError):
        layout.wakeup.touch()
