"""A small modal question with one text answer (a rejection reason, an export folder)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from tui.i18n import t
from tui.screens.base import ClerkModal
from tui.widgets.common import TextField


class TextPrompt(ClerkModal[str | None]):
    """Answers the text, or ``None`` when cancelled; an empty answer is not accepted."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "key.cancel")]
    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical {
        width: 80; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    TextPrompt #prompt-error { color: $error; text-style: bold; height: auto; }
    TextPrompt Horizontal { height: auto; margin-top: 1; }
    TextPrompt Button { margin-right: 2; }
    TextPrompt TextField { margin: 1 0; }
    """

    def __init__(self, question: str, *, value: str = "", empty_text: str) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.empty_text = empty_text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            yield TextField(value=self.value, id="answer", compact=False)
            yield Static("", id="prompt-error", markup=False)
            with Horizontal():
                yield Button(t("prompt.ok"), variant="primary", id="ok")
                yield Button(t("key.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#answer", TextField).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def accept(self) -> None:
        answer = self.query_one("#answer", TextField).value.strip()
        if not answer:
            self.query_one("#prompt-error", Static).update(self.empty_text)
            return
        self.dismiss(answer)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
