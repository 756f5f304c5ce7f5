"""One document: metadata, attachments and their signatures, per-recipient delivery, history,
and the clerk's actions (status 03/05/06/02 for incoming and 'u' to take it back, reading an
attachment's text, export through the folder picker, resend for failed outgoing)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from gateway.model import Delivery, State
from gateway.model.delivery import STATUS_EVENTS, moves
from gateway.store.local import Doc, EventRow
from gateway.store.withdraw import LastStatus
from tui.backend import Backend, explain
from tui.format import state_label
from tui.i18n import t
from tui.messages import DocumentChanged
from tui.screens.base import ClerkScreen
from tui.screens.picker import FilePicker
from tui.screens.prompt import ConfirmPrompt, TextPrompt
from tui.screens.viewer import PdfViewer
from tui.undo import after_mark, take_back
from tui.widgets import detail as render
from tui.widgets.common import ClerkFooter, MessageBar, Title

REFRESH_S = 2.0
MARKS = {"03": State.ACCEPTED, "05": State.PROCESSING, "06": State.DONE, "02": State.REJECTED}


class DetailScreen(ClerkScreen[None]):
    HELP_SECTION = "help.detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "key.back"),
        Binding("3", "mark('03')", "key.accept"),
        Binding("5", "mark('05')", "key.processing"),
        Binding("6", "mark('06')", "key.done"),
        Binding("2", "reject", "key.reject"),
        Binding("v", "view", "key.view"),
        Binding("e", "export", "key.export"),
        Binding("g", "retry", "key.retry"),
        Binding("u", "undo", "key.undo"),
    ]
    DEFAULT_CSS = """
    DetailScreen VerticalScroll { height: 1fr; padding: 0 1; }
    DetailScreen #meta { margin-bottom: 1; }
    """

    def __init__(self, backend: Backend, doc_id: str, *, refresh_s: float = REFRESH_S) -> None:
        super().__init__()
        self.backend = backend
        self.doc_id = doc_id
        self.refresh_s = refresh_s
        self.doc: Doc | None = None
        self.events: list[EventRow] = []
        self.standing: LastStatus | None = None  # the clerk's last status, for 'u'
        self._signature: tuple[int, ...] | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Title("", id="title")
        with VerticalScroll(id="body"):
            yield Static(id="meta")
            yield Static(id="attachments")
            yield Static(id="signatures")
            yield Static(id="deliveries")
            yield Static(id="history")
        yield MessageBar()
        yield ClerkFooter()

    async def on_mount(self) -> None:
        await self.reload()
        if self.doc is not None and self.doc.direction == "in" and self.doc.opened_ms is None:
            await self.backend.mark_opened(self.doc_id)
        self.query_one("#body").focus()
        self.set_interval(self.refresh_s, self._tick)

    def _tick(self) -> None:
        if not self._busy:
            self.run_worker(self.reload(only_if_changed=True), exit_on_error=False)

    async def reload(self, *, only_if_changed: bool = False) -> None:
        """Re-reads the document (delivery states move while the clerk looks at it)."""
        self._busy = True
        try:
            signature = await self.backend.signature()
            if only_if_changed and signature == self._signature:
                return
            self._signature = signature
            self.doc, self.events = await self.backend.document(self.doc_id)
            verdicts = await self.backend.signatures(self.doc)
            self.standing = await self.backend.last_status(self.doc_id)
        except Exception as exc:
            self.query_one(MessageBar).show(explain(exc), error=True)
            return
        finally:
            self._busy = False
        doc, directory = self.doc, self.backend.directory
        title = t("detail.in" if doc.direction == "in" else "detail.out")
        self.query_one("#title", Title).show(f"{title} — {doc.envelope.code}")
        self.query_one("#meta", Static).update(render.metadata(doc, directory))
        self.query_one("#attachments", Static).update(render.attachments(doc))
        self.query_one("#signatures", Static).update(render.signatures(verdicts))
        deliveries = self.query_one("#deliveries", Static)
        deliveries.display = doc.direction == "out"
        if doc.direction == "out":
            deliveries.update(render.deliveries(doc, directory))
        self.query_one("#history", Static).update(render.history(self.events, directory))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        doc = self.doc
        if action in ("mark", "reject"):
            code = str(parameters[0]) if parameters else "02"
            return doc is not None and doc.direction == "in" and moves(
                Delivery(doc.inbox_status or State.RECEIVED), STATUS_EVENTS[code])
        if action == "undo":
            return self.standing is not None
        if action == "retry":
            return doc is not None and doc.queue_state == "dead"
        if action in ("export", "view"):
            return doc is not None and bool(doc.envelope.attachments)
        return True

    def say(self, text: str, *, error: bool = False) -> None:
        self.query_one(MessageBar).show(text, error=error)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_mark(self, code: str) -> None:
        """A final status (06) asks first; the others are recorded at once."""
        if MARKS[code].final:
            self.confirm_then_mark(code)
        else:
            self.run_worker(self.mark(code), exit_on_error=False)

    def confirm_then_mark(self, code: str, note: str = "") -> None:
        code_text = self.doc.envelope.code if self.doc is not None else ""

        def done(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.mark(code, note), exit_on_error=False)
            else:
                self.say(t("msg.not_marked"))

        self.app.push_screen(ConfirmPrompt(t("prompt.final", label=state_label(MARKS[code]),
                                             code=code_text)), done)

    async def mark(self, code: str, note: str = "") -> None:
        try:
            await self.backend.mark(self.doc_id, code, note)
        except Exception as exc:
            self.say(explain(exc), error=True)
            return
        await self.reload()
        after_mark(self.app, self.query_one(MessageBar),
                   t("msg.marked", label=state_label(MARKS[code])))
        self.app.post_message(DocumentChanged(self.doc_id))

    async def action_undo(self) -> None:
        text, error = await take_back(self.app, self.backend, self.doc_id)
        await self.reload()
        self.say(text, error=error)

    def action_reject(self) -> None:
        def done(note: str | None) -> None:
            if note:
                self.confirm_then_mark("02", note)

        self.app.push_screen(
            TextPrompt(t("prompt.reject"), empty_text=t("prompt.reject_empty")), done)

    def action_view(self) -> None:
        """The text of the first PDF attachment ('a' in the viewer goes to the next file)."""
        if self.doc is None or not self.doc.envelope.attachments:
            return
        atts = self.doc.envelope.attachments
        first = next((i for i, a in enumerate(atts) if a.is_pdf), 0)
        self.app.push_screen(PdfViewer(self.backend, self.doc, first))

    def action_export(self) -> None:
        if self.doc is None:
            return
        doc = self.doc

        def done(folder: Path | None) -> None:
            if folder is not None:
                self.run_worker(self.export_to(doc, folder), exit_on_error=False)

        self.app.push_screen(FilePicker(self.backend.roots, folders=True), done)

    async def export_to(self, doc: Doc, folder: Path) -> None:
        try:
            written = await self.backend.export(doc, folder)
        except Exception as exc:
            self.say(explain(exc), error=True)
            return
        self.say(t("msg.exported", n=len(written), dir=folder))

    async def action_retry(self) -> None:
        try:
            await self.backend.retry(self.doc_id)
        except Exception as exc:
            self.say(explain(exc), error=True)
            return
        await self.reload()
        self.say(t("msg.retried"))
        self.app.post_message(DocumentChanged(self.doc_id))
