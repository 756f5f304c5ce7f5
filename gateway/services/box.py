"""Shared plumbing for subcommands: clocks, opening the store, the agency directory."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.model import Directory, Problem, Refused
from gateway.store.layout import GatewayConfig, Layout, load_config, not_initialised
from gateway.store.local import LocalStore


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def load_directory(layout: Layout) -> Directory:
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


@contextlib.asynccontextmanager
async def opened(data: str) -> AsyncIterator[tuple[Layout, GatewayConfig, LocalStore]]:
    layout = Layout(Path(data))
    if not layout.config.exists():
        raise not_initialised(layout.root)
    config = load_config(layout)
    store = await LocalStore.open(layout, wall_ms)
    try:
        yield layout, config, store
    finally:
        await store.close()


def wake_daemon(layout: Layout) -> None:
    """Signals a running daemon (it watches this file's mtime) to sync now."""
    with contextlib.suppress(OSError):
        layout.wakeup.touch()
