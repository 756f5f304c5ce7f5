"""Document envelopes: what a clerk issues, what travels, and what may never travel.

The envelope is metadata only; attachment bytes live in the blob store under their sha256.
Secrecy is an input field exactly so that it can be refused: secret documents (mật, tối mật,
tuyệt mật) must not be exchanged electronically this way (Decision 28/2018/QĐ-TTg).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone

from gateway.model.agency import AgencyCode, fold
from gateway.model.errors import Problem, Refused, is_utf8, not_utf8
from gateway.model.filenames import MAX_NAME_BYTES, utf8_len

# Dates on documents (issue, due) and edXML timestamps are Vietnamese calendar time.
VN_TZ = timezone(timedelta(hours=7))


class Urgency(enum.IntEnum):
    """Độ khẩn (edXML Priority); a higher value is sent first."""

    THUONG = 0
    KHAN = 1
    THUONG_KHAN = 2
    HOA_TOC = 3
    HOA_TOC_HEN_GIO = 4  # legacy: accepted on input, never chosen for sending

    @property
    def label_vi(self) -> str:
        return _URGENCY_VI[self]

    @property
    def label_en(self) -> str:
        return _URGENCY_EN[self]

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_slug(cls, text: str) -> Urgency:
        key = _fold(text).replace(" ", "-").replace("_", "-")
        for member in cls:
            if key in (member.slug, str(member.value)):
                return member
        raise Refused(
            Problem(
                "urgency.invalid",
                f"Độ khẩn không hợp lệ: '{text[:40]}' (thuong, khan, thuong-khan, hoa-toc)",
                f"Invalid urgency: '{text[:40]}' (thuong, khan, thuong-khan, hoa-toc)",
            )
        )


_URGENCY_VI = {
    Urgency.THUONG: "Thường",
    Urgency.KHAN: "Khẩn",
    Urgency.THUONG_KHAN: "Thượng khẩn",
    Urgency.HOA_TOC: "Hỏa tốc",
    Urgency.HOA_TOC_HEN_GIO: "Hỏa tốc hẹn giờ",
}
_URGENCY_EN = {
    Urgency.THUONG: "Normal",
    Urgency.KHAN: "Urgent",
    Urgency.THUONG_KHAN: "Very urgent",
    Urgency.HOA_TOC: "Immediate",
    Urgency.HOA_TOC_HEN_GIO: "Immediate, timed",
}


class Secrecy(enum.IntEnum):
    NONE = 0
    MAT = 1
    TOI_MAT = 2
    TUYET_MAT = 3

    @classmethod
    def parse(cls, text: str | None) -> Secrecy:
        """Reads any spelling a clerk may type; unknown words count as secret, never as none."""
        if text is None or not text.strip():
            return cls.NONE
        key = _fold(text).replace("-", " ").replace("_", " ")
        return {
            "khong": cls.NONE, "none": cls.NONE, "thuong": cls.NONE,
            "mat": cls.MAT, "secret": cls.MAT, "confidential": cls.MAT,
            "toi mat": cls.TOI_MAT, "top secret": cls.TOI_MAT,
            "tuyet mat": cls.TUYET_MAT,
        }.get(key, cls.TUYET_MAT)


def _fold(text: str) -> str:
    """Lower-case ASCII without diacritics, so 'Tối mật' and 'toi-mat' compare equal."""
    return fold(text.strip())


@dataclass(frozen=True)
class Limits:
    """Bounds for a document; the defaults suit a 1 GB box on a thin link."""

    max_recipients: int = 500
    max_attachments: int = 50
    max_attachment_bytes: int = 100 * 2**20
    max_total_bytes: int = 200 * 2**20
    max_subject_chars: int = 1000
    max_field_chars: int = 300
    max_name_chars: int = 200
    max_name_bytes: int = MAX_NAME_BYTES  # what a file system can hold beside its temp name


DEFAULT_LIMITS = Limits()
PDF_TYPE = "application/pdf"
SHA256_RE = re.compile(r"[0-9a-f]{64}")
_NAME_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Attachment:
    name: str
    media_type: str
    sha256: str
    size: int

    @property
    def is_pdf(self) -> bool:
        """Whose signatures are checked: a PDF by type or by name (the store's SQL in
        ``gateway.store.verdicts`` says the same)."""
        return self.media_type == PDF_TYPE or self.name.lower().endswith(".pdf")


@dataclass(frozen=True)
class Envelope:
    id: str
    sender: str
    recipients: tuple[str, ...]
    number: str
    notation: str
    doc_type: str
    subject: str
    issue_place: str
    issue_date: date
    signer: str
    urgency: Urgency
    due_date: date | None
    attachments: tuple[Attachment, ...]
    created_ms: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        """Số/ký hiệu as written on the document, e.g. ``123/UBND-VP``."""
        return f"{self.number}/{self.notation}" if self.notation else self.number

    @property
    def total_bytes(self) -> int:
        return sum(a.size for a in self.attachments)


def uuid7(now_ms: int, random_bytes: Callable[[int], bytes]) -> str:
    """A time-ordered UUIDv7 (RFC 9562) from an injected clock and random source."""
    rand = int.from_bytes(random_bytes(10), "big")
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def validate_envelope(
    env: Envelope,
    known: Callable[[str], bool],
    *,
    secrecy: Secrecy = Secrecy.NONE,
    limits: Limits = DEFAULT_LIMITS,
) -> None:
    """Raises :class:`Refused` listing every problem; ``known`` answers whether a code exists."""
    problems: list[Problem] = []
    if secrecy is not Secrecy.NONE:
        problems.append(_p("document.secret",
            "Văn bản mật không được gửi qua hệ thống này; hãy chuyển theo đường văn bản mật.",
            "Secret documents may not be sent through this system; use the secret channel."))
    problems += _check_codes(env, known, limits)
    problems += _check_text(env, limits)
    problems += _check_attachments(env.attachments, limits)
    if env.due_date is not None and env.due_date < env.issue_date:
        problems.append(_p("document.due_before_issue",
            "Hạn xử lý sớm hơn ngày ban hành.", "Due date is before the issue date."))
    if problems:
        raise Refused(problems)


def _p(code: str, vi: str, en: str) -> Problem:
    return Problem(code, vi, en)


def _check_codes(env: Envelope, known: Callable[[str], bool], limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    if not env.recipients:
        problems.append(_p("recipients.empty", "Chưa chọn nơi nhận.", "No recipient given."))
    if len(env.recipients) > limits.max_recipients:
        problems.append(_p("recipients.too_many",
            f"Quá nhiều nơi nhận (tối đa {limits.max_recipients}).",
            f"Too many recipients (at most {limits.max_recipients})."))
    seen: set[str] = set()
    for code in env.recipients:
        if code in seen:
            problems.append(_p("recipients.duplicate",
                f"Nơi nhận bị trùng: {code}", f"Duplicate recipient: {code}"))
        seen.add(code)
        if not known(code):
            problems.append(_p("recipients.unknown",
                f"Không có cơ quan mã {code} trong danh bạ.",
                f"Unknown recipient {code}: not in the agency directory."))
    if env.sender in seen:
        problems.append(_p("recipients.self",
            "Không gửi văn bản cho chính mình.", "A document cannot be sent to its own sender."))
    try:
        AgencyCode.parse(env.sender)
    except Refused as exc:
        problems.extend(exc.problems)
    return problems


def _check_text(env: Envelope, limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    if not env.subject.strip():
        problems.append(_p("subject.empty", "Trích yếu không được để trống.", "Subject is empty."))
    if len(env.subject) > limits.max_subject_chars:
        problems.append(_p("subject.too_long",
            f"Trích yếu quá dài (tối đa {limits.max_subject_chars} ký tự).",
            f"Subject too long (at most {limits.max_subject_chars} characters)."))
    if not env.number.strip():
        problems.append(_p("number.empty", "Thiếu số văn bản.", "Document number is empty."))
    for label_vi, label_en, value in (
        ("Số", "Number", env.number), ("Ký hiệu", "Notation", env.notation),
        ("Loại văn bản", "Type", env.doc_type), ("Nơi ban hành", "Place", env.issue_place),
        ("Người ký", "Signer", env.signer),
    ):
        if len(value) > limits.max_field_chars:
            problems.append(_p("field.too_long",
                f"{label_vi} quá dài.", f"{label_en} is too long."))
    return problems


def _check_attachments(items: Sequence[Attachment], limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    if len(items) > limits.max_attachments:
        problems.append(_p("attachments.too_many",
            f"Quá nhiều tệp đính kèm (tối đa {limits.max_attachments}).",
            f"Too many attachments (at most {limits.max_attachments})."))
    names: set[str] = set()
    for a in items:
        if not is_utf8(a.name):
            problems.append(not_utf8("Tên tệp", "File name", a.name))
        elif not a.name or a.name in (".", "..") or _NAME_FORBIDDEN.search(a.name):
            problems.append(_p("attachment.bad_name",
                f"Tên tệp không hợp lệ: '{a.name[:60]}' (không được chứa / hoặc \\).",
                f"Invalid attachment name: '{a.name[:60]}' (no path separators)."))
        elif len(a.name) > limits.max_name_chars or utf8_len(a.name) > limits.max_name_bytes:
            problems.append(_p("attachment.name_too_long",
                f"Tên tệp quá dài: '{a.name[:60]}…' ({utf8_len(a.name)} byte; tối đa "
                f"{limits.max_name_bytes} byte, khoảng {limits.max_name_bytes // 3} chữ có dấu)."
                " Hãy đặt tên ngắn hơn.",
                f"File name too long: '{a.name[:60]}…' ({utf8_len(a.name)} bytes; at most "
                f"{limits.max_name_bytes}). Give the file a shorter name."))
        elif a.name in names:
            problems.append(_p("attachment.duplicate_name",
                f"Hai tệp đính kèm trùng tên: {a.name}", f"Two attachments named {a.name}"))
        names.add(a.name)
        if not SHA256_RE.fullmatch(a.sha256) or a.size < 0:
            problems.append(_p("attachment.bad_digest",
                "Tệp đính kèm có mã băm không hợp lệ.", "Attachment has an invalid digest."))
        if a.size > limits.max_attachment_bytes:
            problems.append(_p("attachment.too_large",
                f"Tệp '{a.name[:60]}' quá lớn (tối đa {limits.max_attachment_bytes // 2**20} MB).",
                f"File '{a.name[:60]}' is too large "
                f"(at most {limits.max_attachment_bytes // 2**20} MB)."))
    if sum(a.size for a in items) > limits.max_total_bytes:
        problems.append(_p("attachments.too_large",
            f"Tổng dung lượng tệp vượt {limits.max_total_bytes // 2**20} MB.",
            f"Attachments exceed {limits.max_total_bytes // 2**20} MB in total."))
    return problems
