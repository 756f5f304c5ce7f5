"""Soạn văn bản đi: recipients from the directory, the form, attachments, then ``send``.

Sending calls the send service (:func:`gateway.services.send.send`) the CLI also uses, so
every check (unknown recipient, secrecy, disk reserve, file sizes) and every refusal text is
the CLI's. When the agency's key is on a USB token without a ``pin_file``, the service asks
for the PIN from its worker thread once the document has passed its checks and has a PDF to
sign; :meth:`ComposeScreen.pin_from_thread` answers with the masked :class:`PinEntry`.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from gateway.model import Refused, Secrecy, Urgency
from gateway.model.dates import parse_day
from gateway.services.send import SendRequest
from gateway.signing.errors import PinCancelled
from tui.backend import Backend, explain
from tui.format import urgency_label
from tui.i18n import t
from tui.messages import DocumentSent, Notice, PickFile
from tui.screens.base import ClerkScreen
from tui.screens.picker import FilePicker
from tui.screens.prompt import PinEntry
from tui.widgets.common import ClerkFooter, MessageBar, TextField, Title
from tui.widgets.compose import AttachmentPicker, RecipientPicker

DOC_TYPES = ("Công văn", "Quyết định", "Báo cáo", "Tờ trình", "Kế hoạch", "Thông báo",
             "Giấy mời", "Công điện", "Chỉ thị")
SECRECY = (("sec.none", "khong"), ("sec.mat", "mat"), ("sec.toi_mat", "toi-mat"),
           ("sec.tuyet_mat", "tuyet-mat"))


def parse_due(text: str) -> date | None:
    """The due date as the CLI's ``--due`` reads it (31/12/2026, 31/12, or ISO); ``None``
    when left empty, :class:`ValueError` when it is not a date."""
    if not text.strip():
        return None
    try:
        return parse_day(text, date.today())
    except Refused:
        raise ValueError(text) from None


def refusal_text(exc: Refused) -> str:
    return t("c.refused", why=explain(exc))


class ComposeScreen(ClerkScreen[None]):
    HELP_SECTION = "help.compose"
    # Textual types this as an instance attribute, hence no ClassVar.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "key.send", priority=True),
        Binding("f4", "pick_file", "key.pick_file"),
        Binding("escape", "cancel", "key.cancel"),
    ]
    DEFAULT_CSS = """
    ComposeScreen #columns { height: 1fr; }
    ComposeScreen #form { padding: 0 1; }
    ComposeScreen Grid {
        grid-size: 4; grid-columns: 14 1fr 14 1fr; grid-rows: 1;
        grid-gutter: 1 1; height: auto; margin-top: 1;
    }
    ComposeScreen #subject { column-span: 3; }
    ComposeScreen.-narrow RecipientPicker { width: 36; }
    ComposeScreen.-narrow Grid { grid-size: 2; grid-columns: 13 1fr; }
    ComposeScreen.-narrow #subject { column-span: 1; }
    ComposeScreen Label { text-style: bold; }
    ComposeScreen #secret-warning {
        display: none; background: $error 40%; text-style: bold; padding: 0 1; margin-top: 1;
    }
    ComposeScreen #secret-warning.-shown { display: block; }
    ComposeScreen #files-label { margin-top: 1; text-style: bold; }
    ComposeScreen #buttons { height: auto; margin-top: 1; }
    ComposeScreen #buttons Button { margin-right: 2; }
    """

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.sending = False
        self.leaving = False
        self.loop: asyncio.AbstractEventLoop | None = None  # the app's, for the PIN prompt

    def compose(self) -> ComposeResult:
        yield Title(t("compose.title"))
        with Horizontal(id="columns"):
            yield RecipientPicker(self.backend.directory, self.backend.config.agency)
            with VerticalScroll(id="form"), Vertical():
                with Grid():
                    yield Label(t("c.number"))
                    yield TextField(t("c.number_ph"), id="number")
                    yield Label(t("c.type"))
                    yield Select([(d, d) for d in DOC_TYPES], value=DOC_TYPES[0],
                                 allow_blank=False, compact=True, id="doc-type")
                    yield Label(t("c.subject"))
                    yield TextField(t("c.subject_ph"), id="subject")
                    yield Label(t("c.urgency"))
                    yield Select([(urgency_label(u), u.slug) for u in Urgency
                                  if u is not Urgency.HOA_TOC_HEN_GIO],
                                 value=Urgency.THUONG.slug, allow_blank=False, compact=True,
                                 id="urgency")
                    yield Label(t("c.secrecy"))
                    yield Select([(t(k), v) for k, v in SECRECY], value="khong",
                                 allow_blank=False, compact=True, id="secrecy")
                    yield Label(t("c.due"))
                    yield TextField(t("c.due_ph"), id="due")
                    yield Label(t("c.signer"))
                    yield TextField("", id="signer")
                    yield Label(t("c.place"))
                    yield TextField("", id="place")
                yield Static("", id="secret-warning", markup=False)
                yield Label(t("c.files"), id="files-label")
                yield AttachmentPicker()
                with Horizontal(id="buttons"):
                    yield Button(t("c.send"), variant="primary", id="send")
                    yield Button(t("c.cancel"), id="cancel")
        yield MessageBar()
        yield ClerkFooter()

    def on_mount(self) -> None:
        self.query_one("#form", VerticalScroll).can_focus = False
        self.query_one("#filter", TextField).focus()

    def say(self, text: str, *, error: bool = False) -> None:
        self.query_one(MessageBar).show(text, error=error)

    @on(Notice)
    def notice(self, event: Notice) -> None:
        self.say(event.text, error=event.error)

    @on(PickFile)
    def action_pick_file(self) -> None:
        """The picker (USB drives first); the chosen file is checked like a typed one."""
        def done(path: Path | None) -> None:
            if path is not None:
                self.query_one(AttachmentPicker).add_file(str(path))

        self.app.push_screen(FilePicker(self.backend.roots, folders=False), done)

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", TextField).value.strip()

    def choice(self, widget_id: str) -> str:
        value = self.query_one(f"#{widget_id}", Select).value
        return value if isinstance(value, str) else ""

    @on(Select.Changed, "#secrecy")
    def secrecy_changed(self, event: Select.Changed) -> None:
        """A secret level can never be sent this way: say so at once, before any typing."""
        level = str(event.value)
        warning = self.query_one("#secret-warning", Static)
        secret = Secrecy.parse(level) is not Secrecy.NONE
        warning.set_class(secret, "-shown")
        names = dict((v, t(k)) for k, v in SECRECY)
        text = t("c.secret_warning", level=names.get(level, level).lower()) if secret else ""
        warning.update(text)
        self.say("")

    def request(self) -> SendRequest:
        due_text = self.value("due")
        try:
            due = parse_due(due_text)
        except ValueError:
            raise ValueError(t("c.bad_due", text=due_text)) from None
        secrecy = self.choice("secrecy")
        return SendRequest(
            data=str(self.backend.layout.root),
            to=list(self.query_one(RecipientPicker).chosen),
            subject=self.value("subject"), number=self.value("number"),
            doc_type=self.choice("doc-type"), urgency=self.choice("urgency"),
            due=due.isoformat() if due else None,
            secret=None if secrecy == "khong" else secrecy,
            files=[str(p) for p in self.query_one(AttachmentPicker).files],
            place=self.value("place"), signer=self.value("signer"),
            pin_prompt=self.pin_from_thread,
        )

    def pin_from_thread(self) -> str:
        """The token's PIN, asked on screen; called by the send service in its worker thread,
        which waits for the answer. Esc (or the app closing) refuses the send."""
        if self.loop is None:
            raise PinCancelled()
        try:
            pin = asyncio.run_coroutine_threadsafe(self.ask_pin(), self.loop).result()
        except Exception:  # the app stopped while asking: nothing to sign for
            raise PinCancelled() from None
        if pin is None:
            raise PinCancelled()
        return pin

    async def ask_pin(self) -> str | None:
        """Shows the prompt and waits for its answer (on the app's loop)."""
        prompt = PinEntry(self.backend.token_name())
        await self.app.push_screen(prompt)
        return await prompt.answer

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.sending:
            return
        try:
            req = self.request()
        except ValueError as exc:
            self.say(str(exc), error=True)
            return
        self.sending = True
        self.query_one("#send", Button).disabled = True
        self.say(t("c.sending"))
        self.run_worker(self.send(req), exit_on_error=False)

    async def send(self, req: SendRequest) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            doc_id = await self.backend.send(req)
        except Refused as exc:
            self.say(refusal_text(exc), error=True)
        except Exception as exc:
            self.say(explain(exc), error=True)
        else:
            self.app.post_message(DocumentSent(doc_id, req.number))
            self.dismiss(None)
            return
        self.sending = False
        self.query_one("#send", Button).disabled = False

    @on(Input.Changed)
    def typing(self) -> None:
        self.leaving = False

    def has_work(self) -> bool:
        fields = ("number", "subject", "due", "signer", "place")
        return (any(self.value(f) for f in fields) or bool(self.query_one(RecipientPicker).chosen)
                or bool(self.query_one(AttachmentPicker).files))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Leaving a half-written document needs a second Esc, so one slip loses nothing."""
        if self.has_work() and not self.leaving:
            self.leaving = True
            self.say(t("c.leave_confirm"), error=True)
            return
        self.dismiss(None)
