"""Reading an attachment's text on the box's screen, page by page, without exporting it.

The text comes from :func:`gateway.services.pdftext.pdf_text` (bounded in time and size); it
is remote text, so it is shown inert (controls made visible, never markup). A scan, a file
that is no PDF, or a box without the tool say so in plain words and point to the export.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from gateway.model.safe_text import safe_text
from gateway.services.pdftext import Outcome, PdfText
from gateway.store.local import Doc
from tui.backend import Backend, explain
from tui.i18n import t
from tui.screens.base import ClerkScreen
from tui.widgets.common import ClerkFooter, MessageBar, Title


class PdfViewer(ClerkScreen[None]):
    HELP_SECTION = "help.viewer"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "key.back"),
        Binding("n,right", "page(1)", "key.next_page", key_display="n"),
        Binding("p,left", "page(-1)", "key.prev_page", key_display="p"),
        Binding("a", "next_file", "key.next_file"),
    ]
    DEFAULT_CSS = """
    PdfViewer VerticalScroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, backend: Backend, doc: Doc, index: int = 0) -> None:
        super().__init__()
        self.backend = backend
        self.doc = doc
        self.index = index
        self.text: PdfText | None = None
        self.page = 0

    def compose(self) -> ComposeResult:
        yield Title("", id="title")
        with VerticalScroll(id="body"):
            yield Static("", id="page", markup=False)
        yield MessageBar()
        yield ClerkFooter()

    def on_mount(self) -> None:
        self.query_one("#body").focus()
        self.run_worker(self.load(), exit_on_error=False)

    @property
    def name_shown(self) -> str:
        return safe_text(self.doc.envelope.attachments[self.index].name)

    async def load(self) -> None:
        self.text, self.page = None, 0
        self.query_one("#title", Title).show(t("viewer.title", name=self.name_shown))
        self.query_one(MessageBar).show(t("viewer.reading"))
        try:
            self.text = await self.backend.attachment_text(
                self.doc.envelope.attachments[self.index])
        except Exception as exc:
            self.query_one(MessageBar).show(explain(exc), error=True)
            return
        self.show()

    def show(self) -> None:
        text = self.text
        if text is None:
            return
        body = self.query_one("#page", Static)
        bar = self.query_one(MessageBar)
        if text.outcome is not Outcome.TEXT:
            body.update("")
            bar.show(t(f"viewer.{text.outcome.value}", name=self.name_shown), error=True)
            self.refresh_bindings()
            return
        body.update(safe_text(text.pages[self.page], newlines=True))
        self.query_one("#body", VerticalScroll).scroll_home(animate=False)
        self.query_one("#title", Title).show(t(
            "viewer.title_page", name=self.name_shown, page=self.page + 1, n=len(text.pages)))
        bar.show(t("viewer.cut") if text.cut else "")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            pages = len(self.text.pages) if self.text is not None else 0
            step = parameters[0] if parameters and isinstance(parameters[0], int) else 0
            return 0 <= self.page + step < pages
        if action == "next_file":
            return len(self.doc.envelope.attachments) > 1
        return True

    def action_page(self, step: int) -> None:
        if self.text is not None and 0 <= self.page + step < len(self.text.pages):
            self.page += step
            self.show()

    def action_next_file(self) -> None:
        self.index = (self.index + 1) % len(self.doc.envelope.attachments)
        self.run_worker(self.load(), exit_on_error=False)

    def action_back(self) -> None:
        self.dismiss(None)
