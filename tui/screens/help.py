"""The help overlay: every key of every screen, in the UI language."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.i18n import t
from tui.screens.base import ClerkModal, key_label, shown
from tui.screens.compose import ComposeScreen
from tui.screens.detail import DetailScreen
from tui.screens.main import MainScreen
from tui.screens.picker import FilePicker
from tui.screens.viewer import PdfViewer

COMMON = (("F1", "key.help"), ("Tab / Shift+Tab", "key.move"), ("Ctrl+Q", "key.quit"))


def help_table() -> Table:
    table = Table.grid(padding=(0, 3))
    table.add_column(style="bold cyan", width=18)
    table.add_column()
    sections: list[tuple[str, list[BindingType]]] = [
        (s.HELP_SECTION, s.BINDINGS) for s in (MainScreen, DetailScreen, PdfViewer)]
    sections += [(ComposeScreen.HELP_SECTION, ComposeScreen.BINDINGS),
                 ("help.picker", FilePicker.BINDINGS)]
    for section, bindings in sections:
        table.add_row(Text(t(section), style="bold underline"), "")
        if section == "help.picker":
            table.add_row("Enter", t("key.pick_open"))
        for key, words in shown(bindings):
            table.add_row(key, words)
        if section == ComposeScreen.HELP_SECTION:
            table.add_row(key_label("space"), t("key.toggle"))
            table.add_row(key_label("delete"), t("key.remove_file"))
        table.add_row("", "")
    for key, words in COMMON:
        table.add_row(key, t(words))
    return table


class HelpScreen(ClerkModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "key.close"),
        Binding("f1", "close", "key.close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen VerticalScroll {
        width: 76; height: auto; max-height: 90%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as body:
            body.border_title = t("help.title")
            yield Static(help_table())
            yield Static(Text(t("help.note"), style="italic"))
            yield Static(Text(t("help.footer"), style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
