"""The file picker: a file to attach, or a folder to export into, keyboard only.

It opens on the list of places (mounted USB drives first, then the clerk's home, from the
backend's roots provider); Enter opens a place or folder, Backspace goes up, Enter on a file
attaches it, 'c' exports into the folder shown; '/' types a path instead. One list, so it
works at 80×24 and on the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from gateway.model.safe_text import safe_text
from gateway.services.labels import fmt_size
from tui.files import ATTACHABLE, Entry, Root, Roots, listing
from tui.format import clip
from tui.i18n import t
from tui.screens.base import ClerkModal
from tui.screens.prompt import TextPrompt
from tui.widgets.common import ClerkFooter


@dataclass(frozen=True)
class _Up:
    """The '..' row."""


@dataclass(frozen=True)
class _Here:
    """The 'export into this folder' row."""


Row = Root | Entry | _Up | _Here


class FilePicker(ClerkModal[Path | None]):
    """Answers the chosen file (``folders=False``) or folder (``folders=True``), or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "key.cancel"),
        Binding("backspace", "up", "picker.up", key_display="Backspace"),  # no ⌫ on the console
        Binding("c", "here", "picker.here"),
        Binding("slash", "typed", "picker.typed", key_display="/"),
    ]
    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > Vertical {
        width: 100%; max-width: 110; height: 100%; max-height: 40;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    FilePicker #where { text-style: bold; height: auto; }
    FilePicker #hint { color: $text-muted; height: auto; }
    FilePicker OptionList, FilePicker OptionList:focus { height: 1fr; border: none; padding: 0; }
    """

    def __init__(self, roots: Roots, *, folders: bool) -> None:
        super().__init__()
        self.roots = roots
        self.folders = folders
        self.folder: Path | None = None  # None: the list of places
        self.root: Path | None = None  # the place the folder is in (no going above it)
        self.rows: list[Row] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = t("picker.title_folder" if self.folders else "picker.title_file")
            yield Static("", id="where", markup=False)
            yield OptionList(id="entries")
            yield Static("", id="hint", markup=False)
        yield ClerkFooter()

    def on_mount(self) -> None:
        self.show(None)
        self.query_one(OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "here":
            return self.folders and self.folder is not None
        if action == "up":
            return self.folder is not None
        return True

    def show(self, folder: Path | None) -> None:
        """Lists the places (``None``) or one folder."""
        self.folder = folder
        if folder is None:
            self.root = None
            places = self.roots()
            self.rows = list(places)
            where = t("picker.places")
            hint = t("picker.no_usb") if not any(r.usb for r in places) else ""
        else:
            found = listing(folder, suffixes=frozenset() if self.folders else ATTACHABLE)
            self.rows = [_Up(), *([_Here()] if self.folders else []), *found.entries]
            where = safe_text(str(folder))
            hint = (t("picker.unreadable", why=found.error) if found.error
                    else t("picker.more", n=found.more) if found.more
                    else "" if found.entries
                    else t("picker.empty_folders" if self.folders else "picker.empty_files"))
        self.query_one("#where", Static).update(where)
        self.query_one("#hint", Static).update(hint)
        entries = self.query_one(OptionList)
        entries.clear_options()
        entries.add_options([Option(self._label(row)) for row in self.rows])
        entries.highlighted = 0 if self.rows else None
        self.refresh_bindings()

    def _label(self, row: Row) -> Text:
        if isinstance(row, Root):
            kind = t("picker.usb") if row.usb else t("picker.home")
            return Text.assemble((f"{kind:<14}", "bold"), safe_text(str(row.path)))
        if isinstance(row, _Up):
            return Text(t("picker.up_row"), style="dim")
        if isinstance(row, _Here):
            return Text(t("picker.here_row"), style="bold")
        name = clip(safe_text(row.path.name), 70)
        if row.is_dir:
            return Text(f"{name}/", style="bold")
        return Text.assemble(f"{name}  ", (fmt_size(row.size), "dim"))

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        row = self.rows[event.option_index]
        if isinstance(row, Root):
            self.root = row.path
            self.show(row.path)
        elif isinstance(row, _Up):
            self.action_up()
        elif isinstance(row, _Here):
            self.action_here()
        elif row.is_dir:
            self.show(row.path)
        elif not self.folders:
            self.dismiss(row.path)

    def action_up(self) -> None:
        """Up one folder; from the top of a place, back to the list of places."""
        if self.folder is None:
            return
        self.show(None if self.folder == self.root else self.folder.parent)

    def action_here(self) -> None:
        if self.folders and self.folder is not None:
            self.dismiss(self.folder)

    def action_typed(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.dismiss(Path(text).expanduser())

        start = str(self.folder) if self.folder is not None else ""
        self.app.push_screen(TextPrompt(t("prompt.export" if self.folders else "picker.typed_file"),
                                        value=start, empty_text=t("prompt.export_empty")), done)

    def action_cancel(self) -> None:
        self.dismiss(None)
