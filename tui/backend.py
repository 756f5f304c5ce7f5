"""The TUI's only door to the gateway: the local store, the directory and the send service.

Everything goes through :class:`~gateway.store.local.LocalStore` and
:func:`gateway.services.send.send`, so validation, refusals and durability are exactly those
of the CLI. The hub is never contacted; after a change the daemon (another process) is woken
through the wake-up file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.model import Attachment, Directory, Refused, State
from gateway.model.hold import HOLD_MS
from gateway.services.box import load_directory, read_config, wake_daemon, wall_ms
from gateway.services.documents import export_attachments
from gateway.services.link import link_view
from gateway.services.pdftext import PdfText, pdf_text
from gateway.services.send import SendRequest, send
from gateway.services.signatures import AttachmentVerdict, document_verdicts, signing_config
from gateway.signing.keys import Pkcs11Key
from gateway.store.layout import GatewayConfig, Layout
from gateway.store.local import Doc, EventRow, LocalStore
from gateway.store.status import change_signature, sync_marks
from gateway.store.withdraw import LastStatus, last_status, withdraw
from tui.files import Roots, mounted_roots
from tui.i18n import has, lang, t
from tui.link import LinkInfo

log = logging.getLogger(__name__)
Clock = Callable[[], int]


def explain(exc: BaseException) -> str:
    """Plain words for any failure; never a traceback."""
    if isinstance(exc, Refused):
        hints = [t(f"hint.{c}") for c in dict.fromkeys(exc.codes) if has(f"hint.{c}")]
        return " ".join([exc.text(lang()), *hints])
    log.error("unexpected failure in the TUI", exc_info=exc)
    what = exc.__class__.__name__
    if isinstance(exc, sqlite3.OperationalError | OSError):
        what = f"{what}: {str(exc)[:80]}"
    return t("msg.unexpected", what=what)


@dataclass
class Backend:
    layout: Layout
    config: GatewayConfig
    store: LocalStore
    directory: Directory
    clock: Clock
    roots: Roots = mounted_roots  # where the file picker starts: USB drives, then home
    last_mark: tuple[str, int] | None = None  # the clerk's last status: document, when
    wake_at: int | None = None  # when the daemon should be woken to send held statuses

    @classmethod
    async def open(cls, data: Path, clock: Clock = wall_ms,
                   roots: Roots = mounted_roots) -> Backend:
        layout, config = await asyncio.to_thread(read_config, str(data))
        directory = await asyncio.to_thread(load_directory, layout)
        store = await LocalStore.open(layout, clock)
        return cls(layout, config, store, directory, clock, roots)

    async def close(self) -> None:
        await self.store.close()

    @property
    def agency_name(self) -> str:
        agency = self.directory.get(self.config.agency)
        return f"{agency.name} ({self.config.agency})" if agency else self.config.agency

    async def signature(self) -> tuple[int, ...]:
        """Changes whenever a document, a delivery or the queue changes (cheap to ask)."""
        return await change_signature(self.store)

    async def documents(self) -> tuple[list[Doc], list[Doc]]:
        return await self.store.list_documents("in"), await self.store.list_documents("out")

    async def link_info(self) -> LinkInfo:
        counts = await self.store.counts()
        marks = await sync_marks(self.store)
        view = link_view(marks, bool(self.config.hub), self.clock())
        return LinkInfo(view, marks.skew_ms or 0, counts)

    def retry_now(self) -> None:
        """'Thử lại ngay': the daemon ends its wait and tries the hub at once."""
        wake_daemon(self.layout)

    async def document(self, doc_id: str) -> tuple[Doc, list[EventRow]]:
        return await self.store.document(doc_id), await self.store.events(doc_id)

    async def signatures(self, doc: Doc) -> list[AttachmentVerdict]:
        """The signature verdict of each attachment (the daemon checks them on arrival)."""
        return await document_verdicts(self.store, doc)

    async def mark_opened(self, doc_id: str) -> None:
        await self.store.mark_opened(doc_id)

    async def mark(self, doc_id: str, code: str, note: str = "") -> None:
        """Records the status; it waits on the box for the undo window (gateway.model.hold),
        so the screen wakes the daemon when that closes, not now."""
        await self.store.mark(doc_id, code, note)
        self.last_mark = (doc_id, self.clock())
        self.wake_at = self.last_mark[1] + HOLD_MS

    def wake_when_due(self) -> bool:
        """Wakes the daemon once the held statuses may leave (called every refresh)."""
        if self.wake_at is None or self.clock() < self.wake_at:
            return False
        self.wake_at = None
        wake_daemon(self.layout)
        return True

    async def last_status(self, doc_id: str) -> LastStatus | None:
        return await last_status(self.store, doc_id)

    async def withdraw(self, doc_id: str) -> tuple[str, State]:
        """Takes the clerk's last status of the document back, while it is still held."""
        code, back = await withdraw(self.store, doc_id)
        if self.last_mark is not None and self.last_mark[0] == doc_id:
            self.last_mark = None
        return code, back

    async def retry(self, doc_id: str) -> None:
        await self.store.retry(doc_id)
        wake_daemon(self.layout)

    async def attachment_text(self, attachment: Attachment) -> PdfText:
        """The attachment's text, read from its blob by pdftotext (bounded)."""
        return await pdf_text(self.store.blobs.path(attachment.sha256))

    async def export(self, doc: Doc, folder: Path) -> list[Path]:
        """Copies every attachment out through the export service: verified on the way,
        nothing overwritten, names a USB stick can hold."""
        async with contextlib.aclosing(
                export_attachments(self.store, doc, str(folder))) as files:
            return [exported.path async for exported in files]

    def token_name(self) -> str:
        """The signing token the PIN is asked for (its label, or its slot), for the prompt;
        ``""`` when the config names none (a wrong config is refused by the send itself)."""
        try:
            key = signing_config(self.config).key
        except Refused:
            return ""
        if not isinstance(key, Pkcs11Key):
            return ""
        if key.token_label:
            return key.token_label
        return "" if key.slot is None else f"slot {key.slot}"

    async def send(self, req: SendRequest) -> str:
        """The send service: it validates, stores the blobs (in a worker thread, so copying
        big files never freezes the screen), queues the document and wakes the daemon."""
        return await send(req)
