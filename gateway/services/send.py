"""Compose and send: check a document, sign its PDFs, copy its files into the blob store, queue it.

Everything that reads the clerk's files, signs, hashes and fsyncs runs in one worker thread
(:func:`_take_in`), so a 50 MB attachment never stalls the event loop of the caller (the TUI
keeps drawing). The document is queued only after every blob is durable. With a signing key
configured, each PDF gets the agency's PAdES signature first (:mod:`gateway.services.issue`)
and the envelope describes the signed bytes; a signing failure refuses the whole document.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

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
from gateway.model.dates import parse_day
from gateway.model.document import VN_TZ
from gateway.model.errors import printable
from gateway.services.box import Box, load_directory, opened, wake_daemon, wall_ms
from gateway.services.issue import Issuer
from gateway.services.signatures import signing_config
from gateway.signing.keys import PinPrompt
from gateway.store.blobs import COPY_BLOCK
from gateway.store.local import LocalStore

PLACEHOLDER_SHA = "0" * 64


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
    pin_prompt: PinPrompt | None = None  # asks the clerk for a token PIN (TUI); never argv


def file_problem(code: str, name: str, vi: str, en: str) -> Refused:
    """A refusal about one file or folder, naming it in printable characters."""
    shown = printable(name, 200)
    return Refused(Problem(code, f"{vi}: {shown}", f"{en}: {shown}"))


def open_input(name: str) -> tuple[int, int]:
    """Opens one file to attach; returns (descriptor, size). ``O_NONBLOCK`` so that a FIFO
    named by mistake cannot hang the command; the type is checked on the opened descriptor,
    so what is read is what was checked."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise file_problem("file.missing", name, "Không thấy tệp", "File not found") from None
    except OSError as exc:
        raise file_problem("file.unreadable", name, f"Không đọc được tệp ({exc.strerror})",
                           f"Cannot read file ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise file_problem("file.not_regular", name,
                           "Không phải tệp thông thường (thư mục, thiết bị hay ống dẫn)",
                           "Not a regular file (a folder, device or pipe)")
    os.set_blocking(fd, True)
    return fd, info.st_size


def _read_chunks(fd: int, name: str) -> Iterator[bytes]:
    try:
        while chunk := os.read(fd, COPY_BLOCK):
            yield chunk
    except OSError as exc:
        raise file_problem("file.unreadable", name, f"Không đọc được tệp ({exc.strerror})",
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
    today = datetime.fromtimestamp(now / 1000, VN_TZ).date()
    return Envelope(
        id=uuid7(now, os.urandom), sender=sender,
        recipients=tuple(c.strip().upper() for c in req.to if c.strip()),
        number=number.strip(), notation=notation.strip(), doc_type=req.doc_type,
        subject=req.subject.strip(), issue_place=req.place,
        issue_date=today,
        signer=req.signer, urgency=Urgency.from_slug(req.urgency),
        due_date=parse_day(req.due, today) if req.due else None,
        attachments=tuple(
            Attachment(f.path.name,
                       mimetypes.guess_type(f.path.name)[0] or "application/octet-stream",
                       PLACEHOLDER_SHA, f.size) for f in files),
        created_ms=now,
    )


def _take_in(box: Box, req: SendRequest, secrecy: Secrecy, now: int,
             issuer: Issuer | None) -> Envelope:
    """Validates the document, signs its PDFs (with ``issuer``), then stores each file as a
    durable blob; returns the envelope with the real digests and sizes. Blocking: runs in a
    worker thread."""
    directory = load_directory(box.layout)
    with contextlib.ExitStack() as stack:
        files = []
        for name in req.files:
            fd, size = open_input(name)
            stack.callback(os.close, fd)
            files.append(_Input(Path(name), fd, size))
        env = _envelope(req, box.config.agency, now, files)
        validate_envelope(env, lambda code: code in directory, secrecy=secrecy)
        check_space(box.store, box.config.reserve_bytes,
                    (2 if issuer else 1) * sum(f.size for f in files))  # + signed copy
        # the key (a token's PIN) only when there is a PDF to sign
        sign = (issuer.open(stack, directory, env)
                if issuer is not None and any(a.is_pdf for a in env.attachments) else None)
        stored = []
        for f, att in zip(files, env.attachments, strict=True):
            chunks = _read_chunks(f.fd, str(f.path))
            if sign is not None and att.is_pdf:
                chunks = iter([sign(_whole(chunks, f))])
            sha, written = box.store.blobs.put_stream(chunks)
            if sign is None and written != f.size:
                raise _changed(f)
            stored.append(replace(att, sha256=sha, size=written))
    return replace(env, attachments=tuple(stored))


def _changed(f: _Input) -> Refused:
    return Refused(Problem("file.changed", f"Tệp {f.path.name} thay đổi khi đang đọc.",
                           f"File {f.path.name} changed while being read."))


def _whole(chunks: Iterator[bytes], f: _Input) -> bytes:
    data = b"".join(chunks)
    if len(data) != f.size:
        raise _changed(f)
    return data


async def send(req: SendRequest) -> str:
    """Queues the document for sending and wakes the daemon; returns the document's id."""
    secrecy = Secrecy.parse(req.secret)
    async with opened(req.data) as box:
        cfg = signing_config(box.config)
        now = wall_ms() + await box.store.hub_skew_ms()
        issuer = Issuer(box.store, cfg, now, req.pin_prompt) if cfg.key is not None else None
        env = await asyncio.to_thread(_take_in, box, req, secrecy, now, issuer)
        if issuer is not None:
            await issuer.record_verdicts(env)
        await box.store.queue_document(env)
        wake_daemon(box.layout)
        return env.id
