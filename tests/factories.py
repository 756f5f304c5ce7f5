"""Builders for test envelopes (real model objects, no mocks)."""

from __future__ import annotations

import hashlib
import os
from datetime import date

from gateway.model import Attachment, Envelope, Urgency, uuid7


def attachment(name: str = "cv.pdf", data: bytes = b"%PDF-1.7 test") -> Attachment:
    return Attachment(name, "application/pdf", hashlib.sha256(data).hexdigest(), len(data))


def envelope(
    sender: str = "000.00.31.H35",
    recipients: tuple[str, ...] = ("000.00.32.H35",),
    *,
    urgency: Urgency = Urgency.THUONG,
    subject: str = "V/v báo cáo tình hình",
    attachments: tuple[Attachment, ...] | None = None,
    now_ms: int = 1_750_000_000_000,
) -> Envelope:
    return Envelope(
        id=uuid7(now_ms, os.urandom), sender=sender, recipients=recipients, number="12",
        notation="UBND-VP", doc_type="Công văn", subject=subject, issue_place="Lai Châu",
        issue_date=date(2026, 11, 20), signer="Nguyễn Văn A", urgency=urgency,
        due_date=date(2026, 12, 1),
        attachments=attachments if attachments is not None else (attachment(),),
        created_ms=now_ms,
    )
