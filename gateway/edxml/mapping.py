"""Between edXML packages and the gateway's own :class:`Envelope` and delivery statuses.

The envelope keeps what a clerk sees; what does not fit goes to ``extra`` under ``edxml.*``
keys (at most :data:`MAX_EXTRA_USED` of the 32 allowed, each value ≤ 1000 characters). Nothing
is lost: the hub keeps the **original package bytes as a blob** and names it in
``extra["edxml.package"]`` (its sha256); re-exporting a received document starts from that
package (``original=``), so every field the envelope does not carry comes back unchanged.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from gateway.edxml.dates import format_date, format_timestamp, parse_date
from gateway.edxml.errors import refuse
from gateway.edxml.limits import DEFAULT_LIMITS, ParseLimits
from gateway.edxml.model import (
    Attachment,
    AttachmentEncoded,
    Body,
    Bussiness,
    BussinessDocType,
    Code,
    DocumentType,
    Manifest,
    Organ,
    OtherInfo,
    PromulgationInfo,
    Reference,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusHeader,
    TraceHeader,
)
from gateway.edxml.package import (
    DocumentEnvelope,
    DocumentHeaderBlock,
    DocumentPackage,
    StatusEnvelope,
    StatusHeaderBlock,
    StatusPackage,
)
from gateway.edxml.unzip import is_wrapped, unwrap
from gateway.model import document as doc
from gateway.model.agency import AgencyCode
from gateway.model.delivery import STATUS_EVENTS, Event, Party, may_send
from gateway.model.errors import Problem, Refused

MAX_EXTRA_USED = 12
K_ID, K_KIND, K_REF, K_REASON = "edxml.document_id", "edxml.kind", "edxml.ref", "edxml.reason"
K_PACKAGE, K_CONTENT, K_TYPE = "edxml.package", "edxml.content", "edxml.type"
K_POSITION, K_COMPETENCE, K_STEERING = "edxml.position", "edxml.competence", "edxml.steering"
K_LEGACY = "edxml.legacy_codes"


@dataclass(frozen=True)
class Mapped:
    """An incoming package as the hub stores it: envelope, attachment bytes by sha256, notes."""

    envelope: doc.Envelope
    blobs: Mapping[str, bytes]
    notes: tuple[Problem, ...]


def _code(text: str | None, role: str) -> AgencyCode:
    try:
        return AgencyCode.parse(text or "")
    except Refused:
        raise refuse("agency.unusable", f"Không dùng được mã cơ quan ({role}): "
                     f"'{(text or '')[:40]}'.", f"Unusable agency code ({role}): "
                     f"'{(text or '')[:40]}'.") from None


def _cut(value: str | None) -> str:
    return (value or "").strip()[:1000]


def envelope_from_package(pkg: DocumentPackage, *, envelope_id: str, created_ms: int = 0,
                          package_sha256: str = "",
                          limits: ParseLimits = DEFAULT_LIMITS) -> Mapped:
    """Maps a received package; refuses what the gateway cannot file (no usable sender, no
    date), notes what it files with caveats (legacy codes, unreadable attachments)."""
    head, notes = pkg.header, []
    sender = _code(head.from_.organ_id if head.from_ else None, "From")
    recipients = tuple(_code(o.organ_id, "To") for o in head.to)
    legacy = [c.text for c in (sender, *recipients) if c.legacy]
    code = head.code or Code()
    info = head.promulgation_info or PromulgationInfo()
    doc_id = _cut(head.document_id)
    id_parts = doc_id.split(",")
    issued = parse_date(info.promulgation_date) or (
        parse_date(id_parts[1]) if len(id_parts) > 2 else None)
    if issued is None:
        raise refuse("date.missing", "Gói edXML không có ngày ban hành đọc được.",
                     "The edXML package has no readable promulgation date.")
    blobs: dict[str, bytes] = {}
    atts: list[doc.Attachment] = []
    types = {r.content_id: r.content_type for r in pkg.references}
    for a in pkg.attachments:
        name = _cut(a.attachment_name) or _cut(a.description) or "tep-dinh-kem"
        if a.content is None:
            notes.append(Problem("edxml.attachment.skipped",
                f"Tệp '{name[:60]}' không đọc được nên không được lưu.",
                f"Attachment '{name[:60]}' could not be read and was not stored."))
            continue
        data, media = a.content, _cut(a.content_type) or "application/octet-stream"
        if is_wrapped(a.content_type, name):
            data = unwrap(data, limits)
            real = _cut(types.get(a.content_id))
            media = real if real and not is_wrapped(real, name) else (
                mimetypes.guess_type(name)[0] or "application/octet-stream")
        sha = hashlib.sha256(data).hexdigest()
        blobs[sha] = data
        atts.append(doc.Attachment(name, media, sha, len(data)))
    dtype, signer, other = head.document_type, head.signer_info, head.other_info
    bus = pkg.bussiness
    kind = bus.doc_type if bus and bus.doc_type is not None else BussinessDocType.NEW
    extra = {K_ID: doc_id, K_KIND: str(int(kind)), K_REF: _ref(pkg),
             K_REASON: _cut(bus.bussiness_doc_reason if bus else None),
             K_PACKAGE: package_sha256, K_CONTENT: _cut(head.content),
             K_TYPE: _cut(dtype.type if dtype else None),
             K_POSITION: _cut(signer.position if signer else None),
             K_COMPETENCE: _cut(signer.competence if signer else None),
             K_STEERING: _cut(head.steering_type), K_LEGACY: ",".join(legacy)[:1000]}
    env = doc.Envelope(
        id=envelope_id, sender=sender.text, recipients=tuple(c.text for c in recipients),
        number=_cut(code.code_number), notation=_cut(code.code_notation),
        doc_type=_cut((dtype.type_name or dtype.type) if dtype else None),
        subject=_cut(head.subject), issue_place=_cut(info.place), issue_date=issued,
        signer=_cut(signer.full_name if signer else None),
        urgency=_urgency(other.priority if other else None, notes),
        due_date=parse_date(head.due_date), attachments=tuple(atts), created_ms=created_ms,
        extra={k: v for k, v in extra.items() if v})
    return Mapped(env, blobs, tuple(notes))


def _ref(pkg: DocumentPackage) -> str:
    """The document a revoke/update/replace acts on."""
    bus = pkg.bussiness
    if bus and bus.replacement_info_list and bus.replacement_info_list.replacement_info:
        return _cut(bus.replacement_info_list.replacement_info[0].document_id)
    if bus and bus.document_id:
        return _cut(bus.document_id)
    return next((_cut(r.document_id) for r in pkg.header.response_for if r.document_id), "")


def _urgency(text: str | None, notes: list[Problem]) -> doc.Urgency:
    value = (text or "0").strip()
    if value in ("0", "1", "2", "3", "4"):
        return doc.Urgency(int(value))
    notes.append(Problem("edxml.priority.invalid", f"Độ khẩn không rõ: '{value[:8]}'; coi là "
                         "Thường.", f"Unknown priority '{value[:8]}'; treated as normal."))
    return doc.Urgency.THUONG


def document_id(env: doc.Envelope) -> str:
    """``<issuer>,<yyyy/MM/dd>,<number>/<notation>``, the form QCVN 102 uses."""
    return env.extra.get(K_ID) or f"{env.sender},{format_date(env.issue_date)},{env.code}"


def package_from_envelope(env: doc.Envelope, blobs: Mapping[str, bytes], *,
                          organ: Callable[[str], Organ], now: datetime,
                          original: DocumentPackage | None = None) -> DocumentPackage:
    """An outgoing package. ``organ`` gives the From/To details for a code (directory or the
    axis agencies list); urgency 4 (legacy) is written as 3, the highest level still sent."""
    base = original or DocumentPackage()
    head = base.header
    priority = min(int(env.urgency), int(doc.Urgency.HOA_TOC))
    x = env.extra.get
    header = replace(
        head, from_=organ(env.sender), to=tuple(organ(c) for c in env.recipients),
        document_id=document_id(env),
        code=replace(head.code or Code(), code_number=env.number, code_notation=env.notation),
        promulgation_info=replace(head.promulgation_info or PromulgationInfo(),
                                  place=env.issue_place,
                                  promulgation_date=format_date(env.issue_date)),
        document_type=replace(head.document_type or DocumentType(), type=x(K_TYPE, "1"),
                              type_name=env.doc_type),
        subject=env.subject, content=x(K_CONTENT, head.content or env.subject),
        signer_info=replace(head.signer_info or SignerInfo(), full_name=env.signer,
                            position=x(K_POSITION), competence=x(K_COMPETENCE)),
        due_date=format_date(env.due_date) if env.due_date else None,
        other_info=replace(head.other_info or OtherInfo(), priority=str(priority)),
        steering_type=x(K_STEERING, head.steering_type))
    kind = x(K_KIND, "0")
    trace = base.trace
    bus = replace(trace.bussiness or Bussiness(), bussiness_doc_type=kind,
                  bussiness_doc_reason=x(K_REASON),
                  document_id=x(K_REF) or (trace.bussiness.document_id
                                           if trace.bussiness else None))
    trace = replace(trace, bussiness=bus, trace_header=(*trace.trace_header, TraceHeader(
        env.sender, format_timestamp(now))))
    refs, atts = [], []
    for a in env.attachments:
        data = blobs[a.sha256]
        cid = f"cid:{uuid.UUID(bytes=bytes.fromhex(a.sha256)[:16])}"
        refs.append(Reference(cid, a.media_type, a.name, a.name))
        atts.append(Attachment(cid, a.name, a.name, a.media_type, data))
    block = replace((base.envelope.header if base.envelope else None) or DocumentHeaderBlock(),
                    message_header=header, trace_header_list=trace)
    body = (base.envelope.body if base.envelope else None) or Body()
    body = replace(body, manifest=replace(body.manifest or Manifest(), reference=tuple(refs)))
    envelope = replace(base.envelope or DocumentEnvelope(), header=block, body=body)
    encoded = replace(base.attachment_encoded or AttachmentEncoded(), attachment=tuple(atts))
    return replace(base, envelope=envelope, attachment_encoded=encoded)


@dataclass(frozen=True)
class StatusUpdate:
    """A status package as the hub applies it. ``event`` is ``None`` for codes our delivery
    state machine does not track (07–12, 14): recorded, shown, never applied."""

    document_id: str
    code: str
    event: Event | None
    sender: str
    description: str
    timestamp: str


def status_update(pkg: StatusPackage) -> StatusUpdate:
    h = pkg.header
    code = (h.status_code or "").strip()
    return StatusUpdate(_cut(h.response_for.document_id if h.response_for else None), code,
                        STATUS_EVENTS.get(code), _cut(h.from_.organ_id if h.from_ else None),
                        _cut(h.description), _cut(h.timestamp))


def status_package(*, original_id: str, original_sender: str, original_code: str,
                   original_date: str, code: str, party: Party, organ: Organ,
                   staff: StaffInfo | None, description: str, now: datetime) -> StatusPackage:
    """A status package answering ``original_id``; refuses a code ``party`` may not send."""
    if not may_send(party, code):
        raise refuse("status.not_allowed", f"Bên này không được gửi trạng thái {code[:4]}.",
                     f"This party may not send status {code[:4]}.")
    head = StatusHeader(from_=organ, response_for=ResponseFor(
        original_sender, original_code, original_date, original_id), staff_info=staff,
        status_code=code, description=description, timestamp=format_timestamp(now))
    return StatusPackage(StatusEnvelope(StatusHeaderBlock(message_header=head)))
