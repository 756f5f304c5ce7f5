"""Verdicts in plain words for clerks, Vietnamese first, English as an option; pure.

Names come from certificates made by someone else, so every one passes through
:func:`gateway.model.safe_text.safe_text` before it reaches a terminal. Times are shown in
Vietnam's time (UTC+7) whatever the box's zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gateway.model.errors import ui_language
from gateway.model.safe_text import safe_text
from gateway.signing.verdict import (
    LaterChanges,
    NotChecked,
    PdfState,
    PdfVerdict,
    RevocationState,
    SignatureVerdict,
    SigStatus,
)

__all__ = ["VN_TIME", "describe", "headline", "signature_line", "summary"]

VN_TIME = timezone(timedelta(hours=7), "UTC+7")

_STATUS: dict[SigStatus, tuple[str, str]] = {
    SigStatus.VALID_TRUSTED: ("Chữ ký hợp lệ", "Valid signature"),
    SigStatus.VALID_UNTRUSTED_ROOT: (
        "Chữ ký đúng nhưng chứng thư số không do tổ chức được tin cậy cấp",
        "Signature intact but the certificate is not from a trusted authority"),
    SigStatus.CERT_INVALID: ("Chứng thư số của người ký không còn hiệu lực",
                             "The signer's certificate is not valid"),
    SigStatus.MODIFIED_AFTER_SIGNING: ("Văn bản đã bị sửa sau khi ký",
                                       "The document was changed after signing"),
    SigStatus.BROKEN: ("Chữ ký không hợp lệ: nội dung đã bị thay đổi hoặc chữ ký hỏng",
                       "Invalid signature: the content was altered or the signature is damaged"),
    SigStatus.UNREADABLE: ("Không đọc được chữ ký", "The signature cannot be read"),
}

_WHY_NOT: dict[NotChecked, tuple[str, str]] = {
    NotChecked.OFFLINE: ("chưa kiểm tra thu hồi (không có danh sách thu hồi, máy ngoại tuyến)",
                         "revocation not checked (no revocation list, offline)"),
    NotChecked.NO_CRL: ("chưa kiểm tra thu hồi (không lấy được danh sách thu hồi)",
                        "revocation not checked (no revocation list available)"),
    NotChecked.CHAIN_UNTRUSTED: ("chưa kiểm tra thu hồi (chứng thư không được tin cậy)",
                                 "revocation not checked (certificate not trusted)"),
    NotChecked.ERROR: ("chưa kiểm tra thu hồi (danh sách thu hồi không dùng được)",
                       "revocation not checked (the revocation list could not be used)"),
}

_UNREADABLE: dict[str, tuple[str, str]] = {
    "timeout": ("quá thời gian cho phép", "took too long"),
    "memory": ("cần quá nhiều bộ nhớ", "needs too much memory"),
    "too_large": ("tệp quá lớn", "file too large"),
    "crashed": ("bộ đọc PDF bị lỗi", "the PDF reader failed"),
    "parse": ("tệp PDF hỏng", "damaged PDF file"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def _when(t: datetime) -> str:
    return t.astimezone(VN_TIME).strftime("%H:%M %d/%m/%Y")


def _who(s: SignatureVerdict) -> str:
    name = s.organisation or s.signer
    if s.organisation and s.signer and s.signer != s.organisation:
        name = f"{s.signer} ({s.organisation})"
    return safe_text(name) if name else "?"


def signature_line(s: SignatureVerdict, lang: str | None = None) -> str:
    """One line: "Chữ ký hợp lệ — UBND xã …"."""
    lang = lang or ui_language()
    line = f"{_pick(_STATUS[s.status], lang)} — {_who(s)}"
    if s.later_changes is LaterChanges.ALLOWED and s.status is not SigStatus.BROKEN:
        line += (" (sau đó chỉ thêm chữ ký/điền biểu mẫu, được phép)" if lang != "en"
                 else " (later changes only add signatures or form data: allowed)")
    return line


def _facts(s: SignatureVerdict, lang: str) -> list[str]:
    en = lang == "en"
    out: list[str] = []
    if s.proven_time is not None:
        trusted = "" if s.timestamp_trusted else (" (TSA not trusted)" if en
                                                  else " (đơn vị cấp dấu không được tin cậy)")
        out.append(("Timestamp: " if en else "Dấu thời gian: ") + _when(s.proven_time)
                   + " (UTC+7)" + trusted)
    if s.claimed_time is not None:
        out.append(("Signed at (signer's clock): " if en else "Ký lúc (theo máy người ký): ")
                   + _when(s.claimed_time) + " (UTC+7)")
    rev = s.revocation
    if rev.state is RevocationState.GOOD:
        out.append("Revocation: checked, not revoked" if en
                   else "Thu hồi: đã kiểm tra, chưa bị thu hồi")
    elif rev.state is RevocationState.REVOKED:
        at = f" {_when(rev.revoked_at)}" if rev.revoked_at else ""
        out.append(f"Certificate REVOKED{at}" if en else f"Chứng thư ĐÃ BỊ THU HỒI{at}")
    elif rev.why_not is not None:
        out.append(_pick(_WHY_NOT[rev.why_not], lang).capitalize())
    if s.serial:
        out.append(("Certificate serial: " if en else "Số hiệu chứng thư: ") + safe_text(s.serial))
    return out


def headline(v: PdfVerdict, lang: str | None = None) -> str:
    """One line for lists: the worst signature's words, or unsigned/unreadable."""
    lang = lang or ui_language()
    if v.state is PdfState.UNSIGNED:
        return "Not digitally signed" if lang == "en" else "Không có chữ ký số"
    if v.state is PdfState.UNREADABLE:
        why = _pick(_UNREADABLE.get(v.reason, _UNREADABLE["parse"]), lang)
        return (f"Signatures could not be checked: {why}" if lang == "en"
                else f"Không kiểm tra được chữ ký số: {why}")
    order = list(SigStatus)
    worst = max(v.signatures, key=lambda s: order.index(s.status))
    return signature_line(worst, lang)


def describe(v: PdfVerdict, lang: str | None = None) -> list[str]:
    """Every signature with its facts, for the document view and ``gateway verify``."""
    lang = lang or ui_language()
    if v.state is not PdfState.SIGNED:
        return [headline(v, lang)]
    lines: list[str] = []
    for n, s in enumerate(v.signatures, 1):
        lines.append(f"{n}. {signature_line(s, lang)}")
        lines.extend(f"   {fact}" for fact in _facts(s, lang))
    return lines


def summary(v: PdfVerdict) -> str:
    """A short stable code for logs and metrics: ``signed:2/2``, ``unsigned``, ``unreadable``."""
    if v.state is not PdfState.SIGNED:
        return v.state.value
    good = sum(s.status is SigStatus.VALID_TRUSTED for s in v.signatures)
    return f"signed:{good}/{len(v.signatures)}"
