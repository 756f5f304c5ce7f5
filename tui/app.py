"""The clerk's application: opens the local store, shows the main screen, routes messages.

The store is opened on the app's own event loop (aiosqlite connections belong to one loop)
and closed on exit. Nothing here talks to the hub; the sync daemon is another process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from gateway.services.box import wall_ms
from tui.arrivals import Arrivals, notice
from tui.backend import Backend, Clock, explain
from tui.console import CONSOLE_CSS, use_console_glyphs
from tui.files import Roots, mounted_roots
from tui.i18n import set_language, t
from tui.ime import Method
from tui.messages import DocumentChanged, DocumentSent
from tui.screens.base import ClerkScreen
from tui.screens.help import HelpScreen
from tui.screens.main import REFRESH_S, MainScreen

log = logging.getLogger(__name__)


class FatalScreen(ClerkScreen[None]):
    """The store could not be opened: plain words and a way out, never a traceback."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "key.quit")]
    DEFAULT_CSS = """
    FatalScreen { align: center middle; }
    FatalScreen Static { width: 80; padding: 1 2; border: thick $error; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(f"{self.text}\n\n{t('msg.fatal_key')}", id="fatal", markup=False)


class ClerkApp(App[None]):
    TITLE = "Văn thư"
    ENABLE_COMMAND_PALETTE = False
    # Notifications (new arrivals, the input method) stand above the message bar (up to 4 lines)
    # and the footer: the result of what the clerk just did is never hidden under them.
    CSS = "ToastRack { margin-bottom: 5; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "key.help"),
        Binding("f3", "ime", "key.ime"),
        Binding("ctrl+q", "quit", "key.quit", priority=True),
    ]

    def __init__(self, data: Path, *, lang: str | None = None, clock: Clock = wall_ms,
                 refresh_s: float = REFRESH_S, console: bool = False,
                 ime: Method | None = None, roots: Roots = mounted_roots) -> None:
        # On the console, the styles that use only the console font's glyphs (tui/console.py).
        super().__init__(css_path=CONSOLE_CSS if console else None)
        if lang:
            set_language(lang)
        self.console_mode = console
        self._restore_glyphs: Callable[[], None] = lambda: None
        # The built-in input method: on the console (no other way to type Vietnamese), off
        # where the terminal brings its own; F3 switches.
        self.ime = ime if ime is not None else (Method.TELEX if console else Method.OFF)
        self.data = data
        self.clock = clock
        self.refresh_s = refresh_s
        self.roots = roots
        self.backend: Backend | None = None
        self.main: MainScreen | None = None
        self.arrivals = Arrivals()
        self._polled: tuple[int, ...] | None = None
        self._polling = False

    async def on_mount(self) -> None:
        if self.console_mode:
            self._restore_glyphs = use_console_glyphs()
        try:
            self.backend = await Backend.open(self.data, self.clock, self.roots)
        except Exception as exc:
            await self.push_screen(FatalScreen(explain(exc)))
            return
        self.main = MainScreen(self.backend, refresh_s=self.refresh_s)
        await self.push_screen(self.main)
        await self.poll_store()
        self.set_interval(self.refresh_s, self._poll_tick)

    def _poll_tick(self) -> None:
        if not self._polling:
            self.run_worker(self.poll_store(), exit_on_error=False)

    async def poll_store(self) -> None:
        """Whatever screen shows: a notice for each new incoming document (once), and the
        daemon woken when the clerk's held statuses may leave."""
        if self.backend is None:
            return
        self._polling = True
        try:
            self.backend.wake_when_due()
            signature = await self.backend.signature()
            if signature == self._polled:
                return
            self._polled = signature
            new = self.arrivals.new(await self.backend.store.list_documents("in"))
        except Exception as exc:  # the main screen's link line says what is wrong
            log.warning("polling the store failed: %s", exc)
            return
        finally:
            self._polling = False
        if new:
            text, urgent = notice(new)
            self.notify(text, severity="warning" if urgent else "information", timeout=10,
                        markup=False)

    async def on_unmount(self) -> None:
        self._restore_glyphs()
        if self.backend is not None:
            await self.backend.close()
            self.backend = None

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
        else:
            self.push_screen(HelpScreen())

    def action_ime(self) -> None:
        order = list(Method)
        self.ime = order[(order.index(self.ime) + 1) % len(order)]
        self.notify(t(f"ime.{self.ime.value}"), timeout=4)

    def action_help_quit(self) -> None:
        """Ctrl+C does not quit (it copies in fields); say how to quit, in the UI language."""
        self.notify(t("msg.quit_hint"))

    async def on_document_sent(self, message: DocumentSent) -> None:
        if self.main is not None:
            await self.main.show_sent(message.doc_id, message.code)

    async def on_document_changed(self, message: DocumentChanged) -> None:
        if self.main is not None:
            await self.main.refresh_data(force=True)
