"""Small readers for what is on screen (text of cells, bars and tables)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App

from tui.screens.main import MainScreen
from tui.widgets.common import MessageBar
from tui.widgets.main import DocTable, LinkBar


def main_screen(app: App[None]) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen), screen
    return screen


def rows(table: DocTable) -> list[list[str]]:
    return [[cell.plain if isinstance(cell, Text) else str(cell)
             for cell in table.get_row_at(i)] for i in range(table.row_count)]


def headers(table: DocTable) -> list[str]:
    return [str(c.label) for c in table.ordered_columns]


def message(app: App[None]) -> str:
    return app.screen.query_one(MessageBar).text


def link_text(app: App[None]) -> str:
    return app.screen.query_one(LinkBar).text


def screen_text(app: App[None]) -> str:
    """Everything drawn on the terminal, line by line."""
    return "\n".join("".join(seg.text for seg in strip)
                     for strip in app.screen._compositor.render_strips())
