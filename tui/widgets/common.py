"""Widgets every screen uses: text fields, the message bar and the screen title."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.widgets import Footer, Input, Static

from gateway.model.safe_text import safe_text
from tui.ime import Method, feed, trailing_word


class TextField(Input):
    """An Input that types Vietnamese with the app's built-in input method (``app.ime``:
    Telex, VNI or off), and whose cursor blink can be frozen (tests set ``BLINK = False``).
    A ``password`` field is masked and typed as it is: the input method never touches a PIN
    ("aa" stays "aa")."""

    BLINK: ClassVar[bool] = True

    def __init__(self, placeholder: str = "", *, id: str | None = None, value: str = "",
                 compact: bool = True, password: bool = False) -> None:
        super().__init__(value=value, placeholder=placeholder, id=id, compact=compact,
                         password=password)
        self.cursor_blink = self.BLINK

    def insert_text_at_cursor(self, text: str) -> None:
        method = getattr(self.app, "ime", Method.OFF)
        if method is Method.OFF or self.password or len(text) != 1:
            super().insert_text_at_cursor(text)
            return
        end = self.cursor_position
        start = trailing_word(self.value[:end])
        self.replace(feed(self.value[start:end], text, method), start, end)


class MessageBar(Static):
    """The last result or problem, in plain words; stays until the next one."""

    DEFAULT_CSS = """
    MessageBar {
        height: auto;
        min-height: 1;
        max-height: 4;
        padding: 0 1;
        background: $panel;
    }
    MessageBar.-error { background: $error 30%; color: $text; text-style: bold; }
    MessageBar.-ok { background: $success 25%; color: $text; }
    """

    def __init__(self, *, id: str | None = "message") -> None:
        super().__init__("", id=id, markup=False)
        self.text = ""

    def show(self, text: str, *, error: bool = False) -> None:
        """``text`` may quote remote words (an attachment name, a hub reason): made inert."""
        text = safe_text(text, newlines=True)
        self.text = text
        self.set_class(error, "-error")
        self.set_class(not error and bool(text), "-ok")
        self.update(text)


class Title(Static):
    """A one-line screen title."""

    DEFAULT_CSS = """
    Title {
        height: 1;
        padding: 0 1;
        background: $primary;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(safe_text(text), id=id, markup=False)

    def show(self, text: str) -> None:
        """A new title; it may hold a số/ký hiệu or an agency name from elsewhere."""
        self.update(safe_text(text))


class ClerkFooter(Footer):
    """The key footer, compact (one space between keys) on screens narrower than
    :attr:`NARROW` columns, so that at 80 columns the screen's own actions still fit."""

    NARROW = 120

    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < self.NARROW
