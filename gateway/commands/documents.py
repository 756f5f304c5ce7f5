"""Clerk-facing subcommands: compose and send, list, show, export, mark, retry."""

from __future__ import annotations

import mimetypes
import os
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


def _stat_files(files: list[str]) -> list[tuple[Path, int]]:
    found: list[tuple[Path, int]] = []
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise Refused(Problem("file.missing", f"Không thấy tệp: {name}",
                                  f"File not found: {name}"))
        found.append((path, path.stat().st_size))
    return found


def check_space(store: LocalStore, reserve: int, incoming: int) -> None:
    """Refuses new work below the disk reserve, so what is already queued can still move."""
    free = store.blobs.free_bytes()
    if free - incoming < reserve:
        raise Refused(Problem("disk.low",
            f"Bộ nhớ của máy sắp đầy (còn {free // 2**20} MB). Văn bản đã xếp hàng vẫn an "
            "toàn; hãy báo cán bộ CNTT để giải phóng dung lượng.",
            f"The box is almost out of disk ({free // 2**20} MB free). Queued documents are "
            "safe; ask the IT team to free space."))


async def send(req: SendRequest) -> str:
    secrecy = Secrecy.parse(req.secret)
    number, _, notation = req.number.partition("/")
    async with opened(req.data) as (layout, config, store):
        directory = load_directory(layout)
        files = _stat_files(req.files)
        now = wall_ms() + await store.hub_skew_ms()
        env = Envelope(
            id=uuid7(now, os.urandom), sender=config.agency,
            recipients=tuple(c.strip().upper() for c in req.to if c.strip()),
            number=number.strip(), notation=notation.strip(), doc_type=req.doc_type,
            subject=req.subject.strip(), issue_place=req.place,
            issue_date=datetime.fromtimestamp(now / 1000, VN_TZ).date(),
            signer=req.signer, urgency=Urgency.from_slug(req.urgency),
            due_date=_parse_date(req.due) if req.due else None,
            attachments=tuple(
                Attachment(p.name, mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                           PLACEHOLDER_SHA, size) for p, size in files),
            created_ms=now,
        )
        validate_envelope(env, lambda code: code in directory, secrecy=secrecy)
        check_space(store, config.reserve_bytes, sum(size for _, size in files))
        stored = []
        for (path, size), att in zip(files, env.attachments, strict=True):
            sha, written = store.blobs.put_file(path)
            if written != size:
                raise Refused(Problem("file.changed", f"Tệp {path.name} thay đổi khi đang đọc.",
                                      f"File {path.name} changed while being read."))
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


async def export(data: str, doc_id: str, dest: str) -> list[Path]:
    out_dir = Path(dest)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    async with opened(data) as (_, _, store):
        doc = await store.document(doc_id)
        for att in doc.envelope.attachments:
            # Names were validated on entry (no separators); take the base name regardless.
            target = out_dir / Path(att.name).name
            store.blobs.export(att.sha256, target)
            written.append(target)
    return written


async def mark(data: str, doc_id: str, status: str, note: str) -> None:
    async with opened(data) as (layout, _, store):
        await store.mark(doc_id, status, note)
        wake_daemon(layout)


async def retry(data: str, doc_id: str) -> None:
    async with opened(data) as (layout, _, store):
        await store.retry(doc_id)
        wake_daemon(layout)
