"""English via GATEWAY_LANG=en or the F2 key, and the help overlay."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static, TabbedContent

from tests.tui.conftest import NOW_MS, SIZE
from tests.tui.helpers import headers, link_text, main_screen, rows
from tests.tui.seed import Seeded
from tui.app import ClerkApp
from tui.screens.help import HelpScreen, help_table
from tui.widgets.main import DocTable


def footer_words(app: ClerkApp) -> set[str]:
    return {b.binding.description for b in app.screen.active_bindings.values()
            if b.binding.show}


async def test_english_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            seeded: Seeded) -> None:
    monkeypatch.setenv("GATEWAY_LANG", "en")
    app = ClerkApp(seeded.data, lang="en", clock=lambda: NOW_MS, refresh_s=3600)
    async with app.run_test(size=SIZE):
        screen = main_screen(app)
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("inbox").label_text == "Inbox (2 · 2 unread)"
        inbox = screen.query_one("#inbox-table", DocTable)
        assert headers(inbox) == ["Number", "Subject", "From", "Urgency", "Date", "Status"]
        assert [r[5] for r in rows(inbox)] == ["Arrived", "Arrived"]
        assert rows(inbox)[0][3].strip() == "IMMEDIATE"
        assert link_text(app).startswith("Not connected to the province yet")
        assert "2 waiting to send" in link_text(app)
        assert {"Compose", "Inbox", "Outbox", "Help", "Tiếng Việt"} <= footer_words(app)


async def test_f2_switches_language_in_place(app: ClerkApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        assert {"Soạn văn bản", "Trợ giúp", "English"} <= footer_words(app)
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("2")  # the outbox tab: its table gets its width and all columns
        await pilot.pause()
        outbox = main_screen(app).query_one("#outbox-table", DocTable)
        assert headers(outbox)[2] == "To"
        assert rows(outbox)[0][5].startswith("Queued")
        assert rows(outbox)[0][3] == "Very urgent"
        assert {"Compose", "Help", "Tiếng Việt"} <= footer_words(app)
        await pilot.press("f2")
        await pilot.pause()
        assert headers(outbox)[2] == "Nơi nhận"


async def test_help_overlay_lists_keys_in_vietnamese(app: ClerkApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.content) for s in app.screen.query(Static))
        assert "Mọi văn bản được lưu ngay trên máy" in text
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(help_table())
        printed = console.export_text()
        for words in ("Màn hình chính", "Soạn văn bản", "Tiếp nhận", "Từ chối", "Gửi lại",
                      "Ctrl+S", "Xuất tệp"):
            assert words in printed
        await pilot.press("escape")
        await pilot.pause()
        assert main_screen(app)
