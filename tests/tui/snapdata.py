"""A data directory whose every byte shown on screen is fixed, for the snapshot tests: fixed
ids, dates, file contents and a store clock that never reads the wall clock.

A realistic inbox for a commune clerk: an unread Hỏa tốc công điện, an overdue Khẩn request,
documents accepted, in progress and done; an outbox with a document queued, one delivered and
accepted by the recipient. Built with the gateway's own functions (``init``, ``queue_document``,
``store_inbound``, ``mark``, ``apply_reply``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from gateway.model import Attachment, Envelope, Urgency, uuid7
from gateway.protocol.messages import HubConfig, Receipt, SyncReply
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from gateway.store.syncstate import SyncState
from gateway.testbed.pdf_samples import make_pdf
from tests.tui.seed import HOME, OFFICE, OTHER, make_data_dir

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 19, 9, 30, tzinfo=VN)
NOW_MS = int(NOW.timestamp() * 1000)
TODAY = NOW.date()
MINUTE = 60_000
FINANCE, HEALTH = "000.00.03.H35", "000.00.06.H35"


@dataclass(frozen=True)
class SnapData:
    data: Path
    hoa_toc: str  # the unread Hỏa tốc công điện
    accepted: str  # an incoming document already accepted (03): 06 asks to confirm
    queued: str  # an outgoing document still waiting to leave


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _envelope(n: int, sender: str, recipients: tuple[str, ...], number: str, notation: str,
              subject: str, urgency: Urgency, due: date | None, issued: date,
              attachments: tuple[Attachment, ...], at: int) -> Envelope:
    return Envelope(id=uuid7(at, lambda k: bytes([n]) * k), sender=sender,
                    recipients=recipients, number=number, notation=notation,
                    doc_type="Công văn" if notation.startswith("UBND") else "Quyết định",
                    subject=subject, issue_place="Lai Châu", issue_date=issued,
                    signer="Nguyễn Văn An", urgency=urgency, due_date=due,
                    attachments=attachments, created_ms=at)


async def build(data: Path) -> SnapData:
    await make_data_dir(data)
    clock = Clock(NOW_MS - 30 * 24 * 60 * MINUTE)
    store = await LocalStore.open(Layout(data), clock)
    sync = SyncState(store, HOME)

    def pdf(title: str) -> Attachment:
        body = make_pdf(title)
        sha, size = store.blobs.put_bytes(body)
        return Attachment(title.lower().replace(" ", "-")[:24] + ".pdf", "application/pdf",
                          sha, size)

    inbox: list[tuple[str, str, str, str, Urgency, date | None, int]] = [
        (OFFICE, "45", "UBND-VP", "V/v triển khai kế hoạch phòng chống thiên tai năm 2026",
         Urgency.THUONG, None, 9),
        (FINANCE, "112", "QĐ-STC", "Quyết định phân bổ kinh phí hỗ trợ khắc phục hậu quả mưa lũ",
         Urgency.THUONG_KHAN, date(2026, 11, 30), 8),
        (HEALTH, "87", "UBND-SYT", "Giấy mời họp giao ban công tác y tế cơ sở quý IV",
         Urgency.THUONG, None, 6),
        (OFFICE, "51", "UBND-VP", "V/v báo cáo thiệt hại do mưa lũ trước ngày 15/11/2026",
         Urgency.KHAN, date(2026, 11, 15), 4),
        (OFFICE, "9", "UBND-CĐ", "Công điện về việc ứng phó khẩn cấp với bão số 9 và mưa lũ",
         Urgency.HOA_TOC, date(2026, 11, 20), 0),
    ]
    ids: list[str] = []
    for seq, (sender, number, notation, subject, urgency, due, days_ago) in enumerate(inbox, 1):
        clock.now = NOW_MS - days_ago * 24 * 60 * MINUTE - 90 * MINUTE
        env = _envelope(seq, sender, (HOME,), number, notation, subject, urgency, due,
                        TODAY - timedelta(days=days_ago + 1),
                        (pdf(f"Cong van {number}"),), clock.now)
        await sync.store_inbound(seq, env)
        ids.append(env.id)
    steps: list[tuple[int, tuple[str, ...]]] = [(0, ("03",)), (1, ("03", "05")),
                                                (2, ("03", "05", "06"))]
    for index, codes in steps:
        for code in codes:
            clock.now += 5 * MINUTE
            await store.mark_opened(ids[index])
            await store.mark(ids[index], code)

    outbox: list[tuple[int, tuple[str, ...], str, str, Urgency, int]] = [
        (21, (OFFICE, OTHER), "13/UBND-VP", "Báo cáo tình hình sản xuất nông nghiệp tháng 11",
         Urgency.THUONG, 3),
        (22, (OFFICE,), "14/UBND-VP", "V/v xin hỗ trợ khắc phục sạt lở đường liên thôn Nà Hừ",
         Urgency.THUONG_KHAN, 0),
    ]
    out_ids: list[str] = []
    for n, to, code, subject, urgency, days_ago in outbox:
        clock.now = NOW_MS - days_ago * 24 * 60 * MINUTE - 45 * MINUTE
        number, notation = code.split("/")
        env = _envelope(n, HOME, to, number, notation, subject, urgency, None,
                        TODAY - timedelta(days=days_ago), (pdf(f"Bao cao {number}"),),
                        clock.now)
        await store.queue_document(env)
        out_ids.append(env.id)
    # The hub took the first and both recipients answered; the sync was a minute ago.
    clock.now = NOW_MS - MINUTE
    sent = await sync.outgoing(clock.now)
    delivered = out_ids[0]
    receipts = tuple(Receipt(i, delivered, to, event, clock.now - (5 - i) * MINUTE, "")
                     for i, (to, event) in enumerate(
                         [(OFFICE, "delivered"), (OTHER, "delivered"), (OFFICE, "03"),
                          (OTHER, "01")], 1))
    await sync.apply_reply(sent, SyncReply(
        time_ms=clock.now, accepted=(delivered,), refused=(), need=(), inbox=(),
        receipts=receipts, config=HubConfig(frame_max=1 << 20, dict_id=0)), clock.now)
    await store.close()
    return SnapData(data, ids[-1], ids[0], out_ids[1])

