"""A clerk's documents: list, show, export the attachments, mark a status, retry a failure."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

from gateway.model import Problem, Refused
from gateway.model.errors import printable
from gateway.model.filenames import clash_key, unique_name
from gateway.services.box import opened, wake_daemon
from gateway.services.send import file_problem
from gateway.store.blobs import BlobError, BlobStore
from gateway.store.local import Doc, EventRow, LocalStore


async def list_documents(data: str, direction: str | None) -> list[Doc]:
    """Every document, or those of one direction (``"in"``, ``"out"``)."""
    async with opened(data) as box:
        return await box.store.list_documents(direction)


async def document(data: str, doc_id: str) -> tuple[Doc, list[EventRow]]:
    """One document and its history."""
    async with opened(data) as box:
        return await box.store.document(doc_id), await box.store.events(doc_id)


async def mark(data: str, doc_id: str, status: str, note: str) -> None:
    async with opened(data) as box:
        if (await box.store.document(doc_id)).direction == "out":
            raise Refused(Problem("status.outbound",
                "Chỉ ghi trạng thái cho văn bản đến; văn bản này do cơ quan mình gửi đi.",
                "Statuses are recorded for incoming documents; this one was sent from here."))
        await box.store.mark(doc_id, status, note)
        wake_daemon(box.layout)


async def retry(data: str, doc_id: str) -> None:
    async with opened(data) as box:
        await box.store.retry(doc_id)
        wake_daemon(box.layout)


@dataclass(frozen=True)
class Exported:
    """One attachment written out: where, and the name it had in the document."""

    path: Path
    name: str

    @property
    def renamed(self) -> Problem | None:
        """Why the file got another name, or ``None`` when it kept its own."""
        if self.path.name == self.name:
            return None
        return Problem("export.renamed",
            f"'{printable(self.name, 200)}' được lưu thành '{self.path.name}' (tên đã có sẵn "
            "hoặc không ghi được trên USB)",
            f"'{printable(self.name, 200)}' saved as '{self.path.name}' (the name was taken "
            "or cannot be written on a USB stick)")


def _export_dir(dest: str) -> tuple[Path, set[str]]:
    """The folder to export into and the clash keys of what it holds; a leading ``~`` is the
    clerk's home (the TUI has no shell to expand it). A missing folder is refused, never
    made: a USB stick that is not mounted yet would have the files land on the SD card."""
    try:
        out_dir = Path(dest).expanduser()
    except RuntimeError:  # '~nobody': no such user, so the name stays as typed
        out_dir = Path(dest)
    if not out_dir.exists():
        raise file_problem("export.no_folder", dest, "Không có thư mục này (nếu là USB, hãy "
                           "cắm lại và chờ máy nhận, rồi thử lại)", "No such folder (if it is "
                           "a USB stick, plug it in again and wait until it is mounted)")
    try:
        return out_dir, {clash_key(p.name) for p in out_dir.iterdir()}
    except (FileExistsError, NotADirectoryError):
        raise file_problem("export.not_a_folder", dest, "Không phải thư mục",
                           "Not a folder") from None
    except OSError as exc:
        raise file_problem("export.unwritable", dest, f"Không ghi được vào ({exc.strerror})",
                           f"Cannot write to ({exc.strerror})") from None


def _claim(out_dir: Path, name: str, used: set[str]) -> Path:
    """Creates an empty file under a free, safe name (``O_EXCL``: never someone else's file);
    the blob store then replaces it atomically with the verified content."""
    while True:
        target = out_dir / unique_name(name, used)
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))
        except FileExistsError:
            continue  # appeared since the folder was listed: take the next number
        except OSError as exc:
            raise file_problem("export.unwritable", str(out_dir),
                               f"Không ghi được vào ({exc.strerror})",
                               f"Cannot write to ({exc.strerror})") from None
        return target


def _export_one(blobs: BlobStore, sha256: str, name: str, out_dir: Path,
                used: set[str]) -> Exported:
    """Blocking: claims a name, then copies and verifies the blob into it."""
    target = _claim(out_dir, name, used)
    try:
        blobs.export(sha256, target)
    except (BlobError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise _export_failed(name, exc) from None
    return Exported(target, name)


async def export(data: str, doc_id: str, dest: str) -> AsyncGenerator[Exported, None]:
    """Writes the attachments into ``dest``, yielding each as it is written (so a caller can
    report a renamed file even if a later one fails). Existing files are never replaced, and
    names a USB stick cannot hold are made safe (:mod:`gateway.model.filenames`). Close the
    iterator (``contextlib.aclosing``) if not read to the end."""
    async with opened(data) as box:
        doc = await box.store.document(doc_id)
        async with contextlib.aclosing(export_attachments(box.store, doc, dest)) as files:
            async for exported in files:
                yield exported


async def export_attachments(store: LocalStore, doc: Doc,
                             dest: str) -> AsyncGenerator[Exported, None]:
    """:func:`export` for a caller that holds the store open already (the TUI)."""
    out_dir, used = await asyncio.to_thread(_export_dir, dest)
    for att in doc.envelope.attachments:
        yield await asyncio.to_thread(_export_one, store.blobs, att.sha256, att.name,
                                      out_dir, used)


def _export_failed(name: str, exc: BaseException) -> Refused:
    if isinstance(exc, BlobError | FileNotFoundError):
        return file_problem("export.blob_damaged", name,
            "Tệp đính kèm trên máy bị hỏng hoặc thiếu; chạy 'gateway scrub' và báo cán bộ CNTT",
            "The stored attachment is damaged or missing; run 'gateway scrub' and call the "
            "IT team")
    detail = exc.strerror if isinstance(exc, OSError) else str(exc)
    return file_problem("export.failed", name, f"Không xuất được tệp ({detail})",
                        f"Could not export file ({detail})")
