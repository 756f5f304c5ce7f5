"""Small modal questions: one text answer (a rejection reason, an export folder), a yes/no
confirmation before a step that cannot be taken back, or the signing token's PIN."""

from __future__ import annotations

import asyncio
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


class ConfirmPrompt(ClerkModal[bool]):
    """Answers ``True`` only on an explicit yes ('c' for có, or the button); Esc, 'k' and the
    other button answer ``False``. The default focus is on "no", so Enter alone never
    confirms an irreversible step."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "key.cancel"),
        Binding("c,y", "answer(True)", "prompt.yes_key"),
        Binding("k,n", "answer(False)", "prompt.no_key"),
    ]
    DEFAULT_CSS = """
    ConfirmPrompt { align: center middle; }
    ConfirmPrompt > Vertical {
        width: 76; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmPrompt Horizontal { height: auto; margin-top: 1; }
    ConfirmPrompt Button { margin-right: 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False, id="question")
            with Horizontal():
                yield Button(t("prompt.yes"), variant="warning", id="yes")
                yield Button(t("prompt.no"), variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PinEntry(ClerkModal[None]):
    """Asks the signing token's PIN in a masked field that the input method leaves alone.

    The answer is :attr:`answer` (``None`` when cancelled, or when the screen goes away
    unanswered, so a sender waiting on it in a worker thread is never left hanging). The
    field is emptied as soon as it is answered: the PIN stays only with the sender."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "key.cancel")]
    DEFAULT_CSS = """
    PinEntry { align: center middle; }
    PinEntry > Vertical {
        width: 76; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    PinEntry #pin-question { text-style: bold; }
    PinEntry #pin-error { color: $error; text-style: bold; height: auto; }
    PinEntry Horizontal { height: auto; margin-top: 1; }
    PinEntry Button { margin-right: 2; }
    PinEntry TextField { margin: 1 0 0 0; }
    """

    def __init__(self, which: str) -> None:
        super().__init__()
        self.which = which
        self.answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(t("pin.question"), markup=False, id="pin-question")
            if self.which:
                yield Static(t("pin.token", which=self.which), markup=False)
            yield TextField(id="pin", compact=False, password=True)
            yield Static("", id="pin-error", markup=False)
            yield Static(t("pin.hint"), markup=False)
            with Horizontal():
                yield Button(t("pin.ok"), variant="primary", id="ok")
                yield Button(t("key.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#pin", TextField).focus()

    def give(self, pin: str | None) -> None:
        field = self.query_one("#pin", TextField)
        field.value = ""
        if not self.answer.done():
            self.answer.set_result(pin)
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def accept(self) -> None:
        pin = self.query_one("#pin", TextField).value
        if not pin:
            self.query_one("#pin-error", Static).update(t("pin.empty"))
            return
        self.give(pin)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.give(None)

    def on_unmount(self) -> None:
        if not self.answer.done():
            self.answer.set_result(None)
