"""Document and status packages: import (bytes → model, with warnings) and export.

``read_package`` tells the two kinds apart by the header (a ``StatusCode`` makes a status
package), checks what the exchange cannot do without, and reports tolerated defects of
real-world packages (legacy agency codes, undeclared prefixes, stray leading bytes, impossible
dates, unreadable payloads) as warnings instead of failing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gateway.edxml.codec import Writer, decode, edxml_local, encode
from gateway.edxml.dates import parse_date
from gateway.edxml.errors import refuse, warning
from gateway.edxml.limits import DEFAULT_LIMITS, ParseLimits
from gateway.edxml.model import (
    Attachment,
    AttachmentEncoded,
    Body,
    Bussiness,
    MessageHeader,
    Organ,
    Reference,
    StatusHeader,
    TraceHeaderList,
)
from gateway.edxml.raw import Attrs, RawElement
from gateway.edxml.reader import Node, Parsed, parse_bytes, parse_file, parse_stream
from gateway.edxml.schema import attrs, extras, one
from gateway.model.agency import AgencyCode
from gateway.model.errors import Problem, Refused

STATUS_CODES = frozenset(f"{n:02d}" for n in range(1, 17))


@dataclass(frozen=True)
class DocumentHeaderBlock:
    message_header: MessageHeader | None = one("MessageHeader", MessageHeader)
    trace_header_list: TraceHeaderList | None = one("TraceHeaderList", TraceHeaderList)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()  # e.g. the XML-DSig Signature


@dataclass(frozen=True)
class DocumentEnvelope:
    header: DocumentHeaderBlock | None = one("edXMLHeader", DocumentHeaderBlock)
    body: Body | None = one("edXMLBody", Body)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class DocumentPackage:
    """A document package; the properties reach into it the way callers usually need."""

    envelope: DocumentEnvelope | None = one("edXMLEnvelope", DocumentEnvelope)
    attachment_encoded: AttachmentEncoded | None = one("AttachmentEncoded", AttachmentEncoded)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()

    @property
    def header(self) -> MessageHeader:
        block = self.envelope.header if self.envelope else None
        return (block.message_header if block else None) or MessageHeader()

    @property
    def trace(self) -> TraceHeaderList:
        block = self.envelope.header if self.envelope else None
        return (block.trace_header_list if block else None) or TraceHeaderList()

    @property
    def bussiness(self) -> Bussiness | None:
        return self.trace.bussiness

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return self.attachment_encoded.attachment if self.attachment_encoded else ()

    @property
    def references(self) -> tuple[Reference, ...]:
        body = self.envelope.body if self.envelope else None
        return body.manifest.reference if body and body.manifest else ()


@dataclass(frozen=True)
class StatusHeaderBlock:
    message_header: StatusHeader | None = one("MessageHeader", StatusHeader)
    trace_header_list: TraceHeaderList | None = one("TraceHeaderList", TraceHeaderList)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class StatusEnvelope:
    header: StatusHeaderBlock | None = one("edXMLHeader", StatusHeaderBlock)
    body: Body | None = one("edXMLBody", Body)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class StatusPackage:
    envelope: StatusEnvelope | None = one("edXMLEnvelope", StatusEnvelope)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()

    @property
    def header(self) -> StatusHeader:
        block = self.envelope.header if self.envelope else None
        return (block.message_header if block else None) or StatusHeader()


Package = DocumentPackage | StatusPackage


@dataclass(frozen=True)
class Imported:
    package: Package
    warnings: tuple[Problem, ...] = field(default=())


def _is_status(root: Node) -> bool:
    for env in root.children:
        for head in env.children if edxml_local(env.tag) == "edXMLEnvelope" else ():
            for msg in head.children if edxml_local(head.tag) == "edXMLHeader" else ():
                if edxml_local(msg.tag) == "MessageHeader":
                    return any(edxml_local(c.tag) == "StatusCode" for c in msg.children)
    return False


def _from_parsed(parsed: Parsed) -> Imported:
    notes = list(parsed.warnings)
    if _is_status(parsed.root):
        status = decode(StatusPackage, parsed.root)
        _check_status(status, notes)
        return Imported(status, tuple(notes))
    doc = decode(DocumentPackage, parsed.root)
    _check_document(doc, notes)
    return Imported(doc, tuple(notes))


def _missing(what: str) -> Refused:
    return refuse("field.missing", f"Gói edXML thiếu trường bắt buộc {what}.",
                  f"The edXML package lacks the required field {what}.")


def _check_code(organ: Organ | None, role: str, notes: list[Problem]) -> None:
    code = (organ.organ_id or "").strip() if organ else ""
    try:
        if AgencyCode.parse(code).legacy:
            notes.append(warning("agency.legacy",
                f"Mã định danh cũ ({role}): {code} — đã nhận, cần đối chiếu danh bạ.",
                f"Legacy agency code ({role}): {code} — accepted; check the directory."))
    except Refused:
        notes.append(warning("agency.invalid",
            f"Mã định danh không đúng dạng ({role}): '{code[:40]}'.",
            f"Agency code not in the standard form ({role}): '{code[:40]}'."))


def _check_document(doc: DocumentPackage, notes: list[Problem]) -> None:
    head = doc.header
    if doc.envelope is None or doc.envelope.header is None or head.from_ is None:
        raise _missing("MessageHeader/From")
    if not (head.from_.organ_id or "").strip():
        raise _missing("From/OrganId")
    _check_code(head.from_, "From", notes)
    for organ in head.to:
        _check_code(organ, "To", notes)
    for label, value in (("PromulgationDate", head.promulgation_info and
                          head.promulgation_info.promulgation_date), ("DueDate", head.due_date)):
        if value and parse_date(value) is None:
            notes.append(warning("date.invalid", f"Ngày không đọc được ({label}): '{value[:30]}'.",
                                 f"Unreadable date ({label}): '{value[:30]}'."))


def _check_status(status: StatusPackage, notes: list[Problem]) -> None:
    head = status.header
    code = (head.status_code or "").strip()
    if code not in STATUS_CODES:
        raise refuse("status.invalid", f"Mã trạng thái không hợp lệ: '{code[:8]}' (01–16).",
                     f"Invalid status code: '{code[:8]}' (01–16).")
    if head.response_for is None or not (head.response_for.document_id or "").strip():
        raise _missing("ResponseFor/DocumentId")
    if head.from_ is None or not (head.from_.organ_id or "").strip():
        raise _missing("From/OrganId")
    _check_code(head.from_, "From", notes)


def read_package(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Imported:
    return _from_parsed(parse_bytes(data, limits))


def read_package_file(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> Imported:
    return _from_parsed(parse_file(path, limits))


def read_package_stream(chunks: Iterable[bytes],
                        limits: ParseLimits = DEFAULT_LIMITS) -> Imported:
    return _from_parsed(parse_stream(chunks, limits))


def write_package(pkg: Package, out: IO[bytes]) -> None:
    """Streams the package as UTF-8 XML; attachments are base64-encoded block by block."""
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>')
    encode(pkg, "edXML", Writer(out), root=True)
    out.write(b"\n")


def package_bytes(pkg: Package) -> bytes:
    buf = io.BytesIO()
    write_package(pkg, buf)
    return buf.getvalue()

