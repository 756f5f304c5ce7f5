"""The TUI's only door to the gateway: the local store, the directory and the send service.

Everything goes through :class:`~gateway.store.local.LocalStore` and
:func:`gateway.services.send.send`, so validation, refusals and durability are exactly those
of the CLI. The hub is never contacted; after a change the daemon (another process) is woken
through the wake-up file.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.model import Directory, Refused
from gateway.services.box import load_directory, read_config, wake_daemon, wall_ms
from gateway.services.send import SendRequest, send
from gateway.store.blobs import BlobCorrupt
from gateway.store.layout import GatewayConfig, Layout
from gateway.store.local import Doc, EventRow, LocalStore
from gateway.store.status import change_signature, sync_marks
from tui.i18n import has, lang, t
from tui.link import LinkInfo

log = logging.getLogger(__name__)
Clock = Callable[[], int]


class ExportProblem(Exception):
    """An export that failed, already worded for the clerk."""


def explain(exc: BaseException) -> str:
    """Plain words for any failure; never a traceback."""
    if isinstance(exc, Refused):
        hints = [t(f"hint.{c}") for c in dict.fromkeys(exc.codes) if has(f"hint.{c}")]
        return " ".join([exc.text(lang()), *hints])
    if isinstance(exc, ExportProblem):
        return str(exc)
    log.error("unexpected failure in the TUI", exc_info=exc)
    what = exc.__class__.__name__
    if isinstance(exc, sqlite3.OperationalError | OSError):
        what = f"{what}: {str(exc)[:80]}"
    return t("msg.unexpected", what=what)


def unique_target(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``name (1)``, ``name (2)``… so nothing is overwritten."""
    base = Path(Path(name).name)
    target = folder / base
    n = 1
    while target.exists():
        target = folder / f"{base.stem} ({n}){base.suffix}"
        n += 1
    return target


@dataclass
class Backend:
    layout: Layout
    config: GatewayConfig
    store: LocalStore
    directory: Directory
    clock: Clock

    @classmethod
    async def open(cls, data: Path, clock: Clock = wall_ms) -> Backend:
        layout, config = await asyncio.to_thread(read_config, str(data))
        directory = await asyncio.to_thread(load_directory, layout)
        store = await LocalStore.open(layout, clock)
        return cls(layout, config, store, directory, clock)

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
        return LinkInfo(marks.last_sync_ms, marks.skew_ms or 0, counts, bool(self.config.hub))

    async def document(self, doc_id: str) -> tuple[Doc, list[EventRow]]:
        return await self.store.document(doc_id), await self.store.events(doc_id)

    async def mark(self, doc_id: str, code: str, note: str = "") -> None:
        await self.store.mark(doc_id, code, note)
        wake_daemon(self.layout)

    async def retry(self, doc_id: str) -> None:
        await self.store.retry(doc_id)
        wake_daemon(self.layout)

    async def export(self, doc: Doc, folder: Path) -> list[Path]:
        """Copies every attachment out (verified on the way) without overwriting anything."""
        return await asyncio.to_thread(self._export, doc, folder)

    def _export(self, doc: Doc, folder: Path) -> list[Path]:
        written: list[Path] = []
        try:
            folder = folder.expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            for att in doc.envelope.attachments:
                if not self.store.blobs.has(att.sha256):
                    raise ExportProblem(t("msg.blob_corrupt", name=att.name))
                target = unique_target(folder, att.name)
                try:
                    self.store.blobs.export(att.sha256, target)
                except BlobCorrupt:
                    raise ExportProblem(t("msg.blob_corrupt", name=att.name)) from None
                written.append(target)
        except (OSError, RuntimeError) as exc:  # RuntimeError: '~nobody' cannot be expanded
            err = exc.errno if isinstance(exc, OSError) else errno.ENOENT
            name = errno.errorcode.get(err or 0, "")
            strerror = exc.strerror if isinstance(exc, OSError) else None
            why = t(f"os.{name}") if has(f"os.{name}") else (strerror or name)
            raise ExportProblem(t("msg.export_failed", dir=folder, why=why)) from None
        return written

    async def send(self, req: SendRequest) -> str:
        """The send service: it validates, stores the blobs (in a worker thread, so copying
        big files never freezes the screen), queues the document and wakes the daemon."""
        return await send(req)
