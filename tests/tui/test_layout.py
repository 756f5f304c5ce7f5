"""The main and detail screens at the sizes clerks have: 80×24 (the box's console) and 120×36."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets._footer import FooterKey

from tests.tui.helpers import headers, main_screen
from tests.tui.seed import Seeded
from tui.app import ClerkApp
from tui.screens.detail import DetailScreen
from tui.widgets.main import DocTable


def visible_footer_keys(app: App[None]) -> list[str]:
    """Keys whose footer entry is drawn wholly inside the screen."""
    width = app.size.width
    return [k.key for k in app.screen.query(FooterKey)
            if k.region.width and k.region.right <= width]


@pytest.mark.parametrize(("size", "peer"), [((80, 24), False), ((120, 36), True)])
async def test_subject_keeps_40_columns_and_status_stays_visible(
        app: ClerkApp, size: tuple[int, int], peer: bool) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key, pane in (("1", "inbox"), ("2", "outbox")):
            await pilot.press(key)
            await pilot.pause()
            table = main_screen(app).query_one(f"#{pane}-table", DocTable)
            cols = headers(table)
            assert "Trạng thái" in cols and "Trích yếu" in cols and "Độ khẩn" in cols
            assert table.subject_width >= 40
            widths = [c.get_render_width(table) for c in table.ordered_columns]
            assert sum(widths) + 2 <= size[0], "the status column is off-screen"
            assert ("Nơi gửi" in cols or "Nơi nhận" in cols) is peer


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_f1_and_ctrl_q_always_in_the_footer(app: ClerkApp, seeded: Seeded,
                                                  size: tuple[int, int]) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        keys = visible_footer_keys(app)
        assert keys[:2] == ["f1", "ctrl+q"], keys
        assert app.backend is not None
        app.push_screen(DetailScreen(app.backend, seeded.inbound[0], refresh_s=3600))
        for _ in range(50):  # the detail screen loads its document first (slow on a busy box)
            await pilot.pause(0.05)
            if visible_footer_keys(app):
                break
        assert visible_footer_keys(app)[:2] == ["f1", "ctrl+q"]
