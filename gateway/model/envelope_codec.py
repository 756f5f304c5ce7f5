"""Envelope <-> plain dict, the one shape used by the store (JSON) and the wire (msgpack).

Decoding treats its input as hostile: every field is type-checked and length-bounded, and
unknown keys are refused, so a peer cannot smuggle data that later code would trust.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from gateway.model.document import (
    DEFAULT_LIMITS,
    SHA256_RE,
    Attachment,
    Envelope,
    Limits,
    Urgency,
)
from gateway.model.errors import Problem, Refused

Plain = str | int | None | list["Plain"] | dict[str, "Plain"]

_FIELDS = frozenset({
    "id", "from", "to", "number", "notation", "type", "subject", "place", "date", "signer",
    "urgency", "due", "att", "created", "extra",
})
_ATT_FIELDS = frozenset({"name", "type", "sha256", "size"})
MAX_EXTRA_KEYS = 32


def envelope_to_dict(env: Envelope) -> dict[str, Plain]:
    return {
        "id": env.id,
        "from": env.sender,
        "to": list(env.recipients),
        "number": env.number,
        "notation": env.notation,
        "type": env.doc_type,
        "subject": env.subject,
        "place": env.issue_place,
        "date": env.issue_date.isoformat(),
        "signer": env.signer,
        "urgency": int(env.urgency),
        "due": env.due_date.isoformat() if env.due_date else None,
        "att": [
            {"name": a.name, "type": a.media_type, "sha256": a.sha256, "size": a.size}
            for a in env.attachments
        ],
        "created": env.created_ms,
        "extra": dict(env.extra),
    }


def _bad(detail: str) -> Refused:
    return Refused(Problem(
        "envelope.malformed", f"Phong bì văn bản sai định dạng: {detail}",
        f"Malformed document envelope: {detail}"))


def _str(obj: Mapping[str, object], key: str, limit: int, *, empty: bool = True) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        raise _bad(f"field '{key}'")
    return value


def _int(obj: Mapping[str, object], key: str, low: int, high: int) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"field '{key}'")
    return value


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: object, key: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _bad(f"field '{key}'")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(f"field '{key}'") from None


def envelope_from_dict(obj: object, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    if not isinstance(obj, dict):
        raise _bad("not a map")
    unknown = set(obj) - _FIELDS
    if unknown:
        raise _bad(f"unknown fields {sorted(str(k)[:20] for k in unknown)[:5]}")
    recipients = obj.get("to")
    if not isinstance(recipients, list) or len(recipients) > limits.max_recipients or not all(
        isinstance(r, str) and len(r) <= 32 for r in recipients
    ):
        raise _bad("field 'to'")
    atts = obj.get("att")
    if not isinstance(atts, list) or len(atts) > limits.max_attachments:
        raise _bad("field 'att'")
    extra = obj.get("extra", {})
    if not isinstance(extra, dict) or len(extra) > MAX_EXTRA_KEYS or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 1000
        for k, v in extra.items()
    ):
        raise _bad("field 'extra'")
    due = obj.get("due")
    f = limits.max_field_chars
    return Envelope(
        id=_str(obj, "id", 36, empty=False),
        sender=_str(obj, "from", 32, empty=False),
        recipients=tuple(str(r) for r in recipients),
        number=_str(obj, "number", f),
        notation=_str(obj, "notation", f),
        doc_type=_str(obj, "type", f),
        subject=_str(obj, "subject", limits.max_subject_chars),
        issue_place=_str(obj, "place", f),
        issue_date=_date(obj.get("date"), "date"),
        signer=_str(obj, "signer", f),
        urgency=Urgency(_int(obj, "urgency", 0, max(Urgency))),
        due_date=None if due is None else _date(due, "due"),
        attachments=tuple(_attachment(a, limits) for a in atts),
        created_ms=_int(obj, "created", 0, 2**53),
        extra={str(k): str(v) for k, v in extra.items()},
    )


def _attachment(obj: object, limits: Limits) -> Attachment:
    if not isinstance(obj, dict) or set(obj) != _ATT_FIELDS:
        raise _bad("attachment")
    digest = _str(obj, "sha256", 64)
    if not SHA256_RE.fullmatch(digest):
        raise _bad("attachment sha256")
    return Attachment(
        name=_str(obj, "name", limits.max_name_chars, empty=False),
        media_type=_str(obj, "type", 128),
        sha256=digest,
        size=_int(obj, "size", 0, limits.max_attachment_bytes),
    )
