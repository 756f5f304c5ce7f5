"""Real data directories for TUI tests: ``init``, outbound documents through ``send`` and
inbound documents committed by the daemon's own ``SyncState.store_inbound``."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from gateway.model import Attachment, Envelope, Urgency, uuid7
from gateway.services.admin import init
from gateway.services.box import wall_ms
from gateway.services.send import SendRequest, send
from gateway.store.db import Conn
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from gateway.store.syncstate import SyncState

HOME = "000.00.31.H35"  # UBND xã Bản Lang (mẫu)
OTHER = "000.00.32.H35"  # UBND xã Nậm Cuổi (mẫu)
OFFICE = "000.00.01.H35"  # Văn phòng UBND tỉnh (mẫu)
HUB = "https://hub.h35.example:8443"


@dataclass(frozen=True)
class Seeded:
    data: Path
    outbound: list[str]
    inbound: list[str]


async def make_data_dir(data: Path, *, hub: str | None = HUB) -> Path:
    await init(str(data), HOME, hub, None)
    return data


async def queue_outbound(data: Path, tmp: Path, *, number: str, subject: str,
                         to: tuple[str, ...] = (OTHER,), urgency: str = "thuong") -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    file = tmp / f"{number.replace('/', '-')}.pdf"
    file.write_bytes(b"%PDF-1.7 " + subject.encode())
    return await send(SendRequest(data=str(data), to=list(to), subject=subject, number=number,
                                  doc_type="Công văn", urgency=urgency, due=None, secret=None,
                                  files=[str(file)], signer="Lò Văn Minh"))


async def add_inbound(data: Path, seq: int, *, number: str, notation: str, subject: str,
                      urgency: Urgency = Urgency.THUONG, sender: str = OFFICE,
                      due: date | None = None,
                      files: tuple[tuple[str, str, bytes], ...] = ()) -> str:
    """Commits an inbound document exactly as the daemon does once its blobs are verified;
    ``files`` are (name, media type, bytes), else one small 'congvan.pdf'."""
    store = await LocalStore.open(Layout(data), wall_ms)
    try:
        files = files or (("congvan.pdf", "application/pdf", f"%PDF-1.7 {subject}".encode()),)
        attachments = []
        for name, media_type, body in files:
            sha, size = store.blobs.put_bytes(body)
            assert sha == hashlib.sha256(body).hexdigest()
            attachments.append(Attachment(name, media_type, sha, size))
        now = wall_ms()
        env = Envelope(
            id=uuid7(now, os.urandom), sender=sender, recipients=(HOME,), number=number,
            notation=notation, doc_type="Công văn", subject=subject, issue_place="Lai Châu",
            issue_date=date.today(), signer="Nguyễn Văn A", urgency=urgency, due_date=due,
            attachments=tuple(attachments),
            created_ms=now)
        await SyncState(store).store_inbound(seq, env)
        return env.id
    finally:
        await store.close()


async def set_kv(data: Path, key: str, value: int) -> None:
    store = await LocalStore.open(Layout(data), wall_ms)

    async def tx(conn: Conn) -> None:
        await conn.execute("INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key)"
                           " DO UPDATE SET value = excluded.value", (key, str(value)))

    try:
        await store.db.write(tx)
    finally:
        await store.close()


async def seed(data: Path, files: Path) -> Seeded:
    await make_data_dir(data)
    inbound = [
        await add_inbound(data, 1, number="45", notation="UBND-VP",
                          subject="V/v triển khai kế hoạch phòng chống thiên tai năm 2026"),
        await add_inbound(data, 2, number="112", notation="QĐ-UBND",
                          subject="Quyết định phân bổ kinh phí hỗ trợ đợt mưa lũ",
                          urgency=Urgency.HOA_TOC),
    ]
    outbound = [
        await queue_outbound(data, files, number="12/UBND-VP",
                             subject="Báo cáo tình hình sản xuất nông nghiệp tháng 11"),
        await queue_outbound(data, files, number="13/UBND-VP",
                             subject="V/v xin hỗ trợ khắc phục sạt lở đường liên thôn",
                             to=(OFFICE, OTHER), urgency="thuong-khan"),
    ]
    return Seeded(data, outbound, inbound)
