"""Widgets of the compose screen: the recipient picker and the attachment list."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, SelectionList, Static
from textual.widgets.selection_list import Selection

from gateway.model import Directory
from gateway.model.agency import matches
from gateway.model.safe_text import safe_text
from gateway.services.labels import fmt_size
from tui.format import clip
from tui.i18n import t
from tui.messages import Notice, PickFile, RecipientsChanged
from tui.widgets.common import TextField


class RecipientPicker(Vertical):
    """The agency directory as a filterable list; space toggles an agency."""

    DEFAULT_CSS = """
    RecipientPicker { width: 54; height: 1fr; border: round $primary; padding: 0 1; }
    RecipientPicker SelectionList { height: 1fr; border: none; padding: 0; }
    RecipientPicker #filter { margin-bottom: 1; }
    RecipientPicker #chosen { height: auto; max-height: 4; color: $text-accent; }
    """

    def __init__(self, directory: Directory, own: str) -> None:
        super().__init__(id="recipients")
        self.entries = [(c, safe_text(directory[c].name)) for c in directory if c != own]
        self.chosen: list[str] = []
        self.names = dict(self.entries)

    def compose(self) -> ComposeResult:
        yield TextField(t("c.filter"), id="filter")
        yield SelectionList[str](*self._options(""), id="agencies")
        yield Static(t("c.chosen_none"), id="chosen", markup=False)

    def on_mount(self) -> None:
        self.border_title = t("c.recipients")

    def _options(self, query: str) -> list[Selection[str]]:
        return [Selection(Text.assemble(clip(name, 30), ("  " + code, "dim")), code,
                          code in self.chosen)
                for code, name in self.entries if matches(query, name, code)]

    @on(Input.Changed, "#filter")
    def filter(self, event: Input.Changed) -> None:
        event.stop()
        agencies = self.query_one("#agencies", SelectionList)
        agencies.clear_options()
        agencies.add_options(self._options(event.value))
        if agencies.option_count:
            agencies.highlighted = 0

    @on(Input.Submitted, "#filter")
    def to_list(self, event: Input.Submitted) -> None:
        """Enter in the search field goes to the list, on the first match."""
        event.stop()
        agencies = self.query_one("#agencies", SelectionList)
        if agencies.option_count and agencies.highlighted is None:
            agencies.highlighted = 0
        agencies.focus()

    @on(SelectionList.SelectionToggled)
    def toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        event.stop()
        code = event.selection.value
        if code in self.chosen:
            self.chosen.remove(code)
        else:
            self.chosen.append(code)
        names = ", ".join(self.names.get(c, c) for c in self.chosen)
        summary = f"{t('c.chosen', n=len(self.chosen))}: {names}" if self.chosen \
            else t("c.chosen_none")
        self.query_one("#chosen", Static).update(summary)
        self.post_message(RecipientsChanged(tuple(self.chosen)))


class AttachmentPicker(Vertical):
    """A path field with an add button; added files are checked to exist and listed."""

    DEFAULT_CSS = """
    AttachmentPicker { height: auto; }
    AttachmentPicker Horizontal { height: auto; }
    AttachmentPicker #path { width: 1fr; }
    AttachmentPicker Button { min-width: 10; margin-left: 1; }
    AttachmentPicker #files { height: auto; max-height: 6; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "remove", "key.remove_file", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="attachments")
        self.files: list[Path] = []
        self.sizes: list[int] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield TextField(t("c.file_ph"), id="path")
            yield Button(t("c.add"), id="add", compact=True)
            yield Button(t("c.pick"), id="pick", compact=True)
        yield OptionList(t("c.files_none"), id="files")

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#add")
    def add(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        field = self.query_one("#path", TextField)
        text = field.value.strip()
        if not text:
            self.post_message(Notice(t("c.file_empty"), error=True))
            return
        if self.add_file(text):
            field.value = ""

    @on(Button.Pressed, "#pick")
    def pick(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(PickFile())

    def add_file(self, text: str) -> bool:
        """Checks and lists one file (typed, or chosen in the picker); says why not."""
        try:
            path = Path(text).expanduser()
            found, readable = path.is_file(), os.access(path, os.R_OK)
            size = path.stat().st_size if found else 0
        except (OSError, RuntimeError, ValueError):
            found = readable = False
        if not found:
            self.post_message(Notice(t("c.file_missing", path=text), error=True))
            return False
        if not readable:
            self.post_message(Notice(t("c.file_unreadable", path=text), error=True))
            return False
        if any(p.name == path.name for p in self.files):
            self.post_message(Notice(t("c.file_dup", name=path.name), error=True))
            return False
        self.files.append(path)
        self.sizes.append(size)
        self._show()
        self.post_message(Notice(t("c.file_added", name=path.name,
                                   size=fmt_size(self.sizes[-1]))))
        return True

    def action_remove(self) -> None:
        files = self.query_one("#files", OptionList)
        index = files.highlighted
        if self.files:
            at = index if index is not None and index < len(self.files) else -1
            self.files.pop(at)
            self.sizes.pop(at)
            self._show()

    def _show(self) -> None:
        files = self.query_one("#files", OptionList)
        files.clear_options()
        if not self.files:
            files.add_option(t("c.files_none"))
            return
        files.add_options([
            Text.assemble(f"{i}. {safe_text(p.name)}  ({fmt_size(size)})",
                          (f"  {safe_text(str(p.parent))}", "dim"))
            for i, (p, size) in enumerate(zip(self.files, self.sizes, strict=True), 1)])
