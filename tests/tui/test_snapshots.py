"""Snapshots of the clerk's main screens (pytest-textual-snapshot), in Vietnamese, at 120×36
and 80×24 and in console mode: fixed data, a fixed clock and the box's time zone, so nothing
in the picture depends on when or where the test runs. ``--snapshot-update`` rewrites them
after a deliberate change; look at the SVGs before committing."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.snapdata import NOW_MS, SnapData, build
from tui.app import ClerkApp
from tui.screens.compose import ComposeScreen
from tui.screens.detail import DetailScreen
from tui.widgets.common import TextField

SnapCompare = Callable[..., bool]
SIZES = {"120x36": (120, 36), "80x24": (80, 24)}


@pytest.fixture(autouse=True)
def box_time_zone() -> Iterator[None]:
    """Times on screen are the box's local time: Vietnam's, whatever machine runs this."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Ho_Chi_Minh"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture(scope="module")
def snap_template(tmp_path_factory: pytest.TempPathFactory) -> SnapData:
    return asyncio.run(build(tmp_path_factory.mktemp("snap") / "gw"))


@pytest.fixture
def snap(snap_template: SnapData, tmp_path: Path) -> SnapData:
    data = tmp_path / "gw"
    shutil.copytree(snap_template.data, data)
    return SnapData(data, snap_template.hoa_toc, snap_template.accepted, snap_template.queued)


def clerk(snap: SnapData, *, console: bool = False) -> ClerkApp:
    return ClerkApp(snap.data, clock=lambda: NOW_MS, refresh_s=3600, console=console)


def detail_of(doc_id: str) -> Callable[[Pilot[None]], object]:
    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ClerkApp) and app.backend is not None
        await app.push_screen(DetailScreen(app.backend, doc_id, refresh_s=3600))
        await pilot.pause()

    return run


async def composing(pilot: Pilot[None]) -> None:
    await pilot.press("n")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    for field, text in (("number", "15/UBND-VP"), ("due", "30/11/2026"),
                        ("subject", "V/v đề nghị hỗ trợ lương thực cho hộ bị ảnh hưởng bão số 9")):
        screen.query_one(f"#{field}", TextField).value = text
    screen.query_one("#filter", TextField).value = "nam cuoi"
    await pilot.press("enter", "space")  # found without accents, and chosen
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_inbox(snap_compare: SnapCompare, snap: SnapData, size: str) -> None:
    assert snap_compare(clerk(snap), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
def test_document_detail(snap_compare: SnapCompare, snap: SnapData, size: str) -> None:
    assert snap_compare(clerk(snap), terminal_size=SIZES[size],
                        run_before=detail_of(snap.hoa_toc))


@pytest.mark.parametrize("size", SIZES)
def test_compose(snap_compare: SnapCompare, snap: SnapData, size: str) -> None:
    assert snap_compare(clerk(snap), terminal_size=SIZES[size], run_before=composing)


@pytest.mark.parametrize("size", SIZES)
def test_confirm_done(snap_compare: SnapCompare, snap: SnapData, size: str) -> None:
    assert snap_compare(clerk(snap), terminal_size=SIZES[size], press=["6"],
                        run_before=detail_of(snap.accepted))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: SnapCompare, snap: SnapData, size: str) -> None:
    assert snap_compare(clerk(snap), terminal_size=SIZES[size], press=["f1"])


def test_console_inbox(snap_compare: SnapCompare, snap: SnapData) -> None:
    assert snap_compare(clerk(snap, console=True), terminal_size=(80, 24))


def test_console_detail(snap_compare: SnapCompare, snap: SnapData) -> None:
    assert snap_compare(clerk(snap, console=True), terminal_size=(80, 24),
                        run_before=detail_of(snap.hoa_toc))


def test_console_confirm_done(snap_compare: SnapCompare, snap: SnapData) -> None:
    assert snap_compare(clerk(snap, console=True), terminal_size=(80, 24), press=["6"],
                        run_before=detail_of(snap.accepted))
