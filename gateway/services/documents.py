"""Clerk-facing subcommands: compose and send, list, show, export, mark, retry."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from gateway.commands.common import load_directory, opened, wake_daemon, wall_ms
from gateway.commands.render import doc_json, doc_summary_line, doc_text, emit_json
from gateway.model import (
    Attachment,
    Envelope,
    Problem,
    Refused,
    Secrecy,
    Urgency,
    uuid7,
    validate_envelope,
)
from gateway.model.errors import printable
from gateway.model.filenames import clash_key, unique_name
from gateway.model.safe_text import safe_text
from gateway.store.blobs import COPY_BLOCK, BlobError
from gateway.store.local import LocalStore

PLACEHOLDER_SHA = "0" * 64
VN_TZ = timezone(timedelta(hours=7))  # dates on documents are Vietnamese calendar dates


@dataclass(frozen=True)
class SendRequest:
    data: str
    to: list[str]
    subject: str
    number: str
    doc_type: str
    urgency: str
    due: str | None
    secret: str | None
    files: list[str]
    place: str = ""
    signer: str = ""


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(Problem("date.invalid", f"Ngày không hợp lệ: {text[:20]} (YYYY-MM-DD)",
                              f"Invalid date: {text[:20]} (YYYY-MM-DD)")) from None


def _file_problem(code: str, name: str, vi: str, en: str) -> Refused:
    shown = printable(name, 200)
    return Refused(Problem(code, f"{vi}: {shown}", f"{en}: {shown}"))


def _open_input(name: str) -> tuple[int, int]:
    """Opens one file to attach; returns (descriptor, size). ``O_NONBLOCK`` so that a FIFO
    named by mistake cannot hang the command; the type is checked on the opened descriptor,
    so what is read is what was checked."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _file_problem("file.missing", name, "Không thấy tệp", "File not found") from None
    except OSError as exc:
        raise _file_problem("file.unreadable", name, f"Không đọc được tệp ({exc.strerror})",
                            f"Cannot read file ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _file_problem("file.not_regular", name,
                            "Không phải tệp thông thường (thư mục, thiết bị hay ống dẫn)",
                            "Not a regular file (a folder, device or pipe)")
    os.set_blocking(fd, True)
    return fd, info.st_size


def _read_chunks(fd: int, name: str) -> Iterator[bytes]:
    try:
        while chunk := os.read(fd, COPY_BLOCK):
            yield chunk
    except OSError as exc:
        raise _file_problem("file.unreadable", name, f"Không đọc được tệp ({exc.strerror})",
                            f"Cannot read file ({exc.strerror})") from None


def check_space(store: LocalStore, reserve: int, incoming: int) -> None:
    """Refuses new work below the disk reserve, so what is already queued can still move."""
    free = store.blobs.free_bytes()
    if free - incoming < reserve:
        raise Refused(Problem("disk.low",
            f"Bộ nhớ của máy sắp đầy (còn {free // 2**20} MB). Văn bản đã xếp hàng vẫn an "
            "toàn; hãy báo cán bộ CNTT để giải phóng dung lượng.",
            f"The box is almost out of disk ({free // 2**20} MB free). Queued documents are "
            "safe; ask the IT team to free space."))


@dataclass(frozen=True)
class _Input:
    path: Path
    fd: int
    size: int


def _envelope(req: SendRequest, sender: str, now: int, files: list[_Input]) -> Envelope:
    number, _, notation = req.number.partition("/")
    return Envelope(
        id=uuid7(now, os.urandom), sender=sender,
        recipients=tuple(c.strip().upper() for c in req.to if c.strip()),
        number=number.strip(), notation=notation.strip(), doc_type=req.doc_type,
        subject=req.subject.strip(), issue_place=req.place,
        issue_date=datetime.fromtimestamp(now / 1000, VN_TZ).date(),
        signer=req.signer, urgency=Urgency.from_slug(req.urgency),
        due_date=_parse_date(req.due) if req.due else None,
        attachments=tuple(
            Attachment(f.path.name,
                       mimetypes.guess_type(f.path.name)[0] or "application/octet-stream",
                       PLACEHOLDER_SHA, f.size) for f in files),
        created_ms=now,
    )


async def send(req: SendRequest) -> str:
    secrecy = Secrecy.parse(req.secret)
    async with opened(req.data) as (layout, config, store):
        directory = load_directory(layout)
        with contextlib.ExitStack() as fds:
            files = []
            for name in req.files:
                fd, size = _open_input(name)
                fds.callback(os.close, fd)
                files.append(_Input(Path(name), fd, size))
            env = _envelope(req, config.agency, wall_ms() + await store.hub_skew_ms(), files)
            validate_envelope(env, lambda code: code in directory, secrecy=secrecy)
            check_space(store, config.reserve_bytes, sum(f.size for f in files))
            stored = []
            for f, att in zip(files, env.attachments, strict=True):
                sha, written = store.blobs.put_stream(_read_chunks(f.fd, str(f.path)))
                if written != f.size:
                    raise Refused(Problem("file.changed",
                        f"Tệp {f.path.name} thay đổi khi đang đọc.",
                        f"File {f.path.name} changed while being read."))
                stored.append(replace(att, sha256=sha))
        env = replace(env, attachments=tuple(stored))
        await store.queue_document(env)
        wake_daemon(layout)
        return env.id


async def list_docs(data: str, direction: str | None, as_json: bool) -> None:
    async with opened(data) as (_, _, store):
        docs = await store.list_documents(direction)
    if as_json:
        emit_json([doc_json(d) for d in docs])
        return
    for d in docs:
        print(doc_summary_line(d))


async def show(data: str, doc_id: str, as_json: bool) -> None:
    async with opened(data) as (_, _, store):
        doc = await store.document(doc_id)
        events = await store.events(doc_id)
    if as_json:
        emit_json(doc_json(doc, events))
    else:
        print(doc_text(doc, events))


def _export_dir(dest: str) -> tuple[Path, set[str]]:
    """The folder to export into (made if missing) and the clash keys of what it holds."""
    out_dir = Path(dest)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir, {clash_key(p.name) for p in out_dir.iterdir()}
    except (FileExistsError, NotADirectoryError):
        raise _file_problem("export.not_a_folder", dest, "Không phải thư mục",
                            "Not a folder") from None
    except OSError as exc:
        raise _file_problem("export.unwritable", dest, f"Không ghi được vào ({exc.strerror})",
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
            raise _file_problem("export.unwritable", str(out_dir),
                                f"Không ghi được vào ({exc.strerror})",
                                f"Cannot write to ({exc.strerror})") from None
        return target


async def export(data: str, doc_id: str, dest: str) -> list[Path]:
    """Writes the attachments into ``dest``. Existing files are never replaced, and names a
    USB stick cannot hold are made safe (:mod:`gateway.model.filenames`); each renamed file
    is reported on stderr so the clerk knows what to look for."""
    written = []
    async with opened(data) as (_, _, store):
        doc = await store.document(doc_id)
        out_dir, used = _export_dir(dest)
        for att in doc.envelope.attachments:
            target = _claim(out_dir, att.name, used)
            try:
                store.blobs.export(att.sha256, target)
            except (BlobError, OSError) as exc:
                target.unlink(missing_ok=True)
                raise _export_failed(att.name, exc) from None
            if target.name != att.name:
                print(f"gateway: {safe_text(_renamed(att.name, target.name).text())}.",
                      file=sys.stderr)
            written.append(target)
    return written


def _renamed(old: str, new: str) -> Problem:
    return Problem("export.renamed",
        f"'{printable(old, 200)}' được lưu thành '{new}' (tên đã có sẵn hoặc không ghi được "
        "trên USB)",
        f"'{printable(old, 200)}' saved as '{new}' (the name was taken or cannot be written "
        "on a USB stick)")


def _export_failed(name: str, exc: BaseException) -> Refused:
    if isinstance(exc, BlobError | FileNotFoundError):
        return _file_problem("export.blob_damaged", name,
            "Tệp đính kèm trên máy bị hỏng hoặc thiếu; chạy 'gateway scrub' và báo cán bộ CNTT",
            "The stored attachment is damaged or missing; run 'gateway scrub' and call the "
            "IT team")
    detail = exc.strerror if isinstance(exc, OSError) else str(exc)
    return _file_problem("export.failed", name, f"Không xuất được tệp ({detail})",
                         f"Could not export file ({detail})")


async def mark(data: str, doc_id: str, status: str, note: str) -> None:
    async with opened(data) as (layout, _, store):
        await store.mark(doc_id, status, note)
        wake_daemon(layout)


async def retry(data: str, doc_id: str) -> None:
    async with opened(data) as (layout, _, store):
        await store.retry(doc_id)
        wake_daemon(layout)
