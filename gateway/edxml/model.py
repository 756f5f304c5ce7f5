"""The typed edXML model (QCVN 102:2016): document packages and status packages.

Field names follow the standard's element names in snake case; text is kept exactly as it
arrived (dates included, see :mod:`gateway.edxml.dates`), ``None`` means the element was absent
and ``""`` that it was present but empty. ``Bussiness`` is the standard's own spelling.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.edxml.raw import Attrs, RawElement
from gateway.edxml.schema import attrs, extras, many, one, payload, text, texts


@dataclass(frozen=True)
class Organ:
    organ_id: str | None = text("OrganId")
    organization_in_charge: str | None = text("OrganizationInCharge")
    organ_name: str | None = text("OrganName")
    organ_add: str | None = text("OrganAdd")
    email: str | None = text("Email")
    telephone: str | None = text("Telephone")
    fax: str | None = text("Fax")
    website: str | None = text("Website")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Code:
    code_number: str | None = text("CodeNumber")
    code_notation: str | None = text("CodeNotation")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class PromulgationInfo:
    place: str | None = text("Place")
    promulgation_date: str | None = text("PromulgationDate")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class DocumentType:
    type: str | None = text("Type")
    type_detail: str | None = text("TypeDetail")
    type_name: str | None = text("TypeName")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class SignerInfo:
    competence: str | None = text("Competence")
    position: str | None = text("Position")
    full_name: str | None = text("FullName")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Appendixes:
    appendix: tuple[str, ...] = texts("Appendix")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class OtherInfo:
    priority: str | None = text("Priority")
    sphere_of_promulgation: str | None = text("SphereOfPromulgation")
    typer_notation: str | None = text("TyperNotation")
    promulgation_amount: str | None = text("PromulgationAmount")
    page_amount: str | None = text("PageAmount")
    direction: str | None = text("Direction")
    appendixes: Appendixes | None = one("Appendixes", Appendixes)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class ToPlaces:
    place: tuple[str, ...] = texts("Place")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class ResponseFor:
    organ_id: str | None = text("OrganId")
    code: str | None = text("Code")
    promulgation_date: str | None = text("PromulgationDate")
    document_id: str | None = text("DocumentId")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class MessageHeader:
    """The header of a document package."""

    from_: Organ | None = one("From", Organ)
    to: tuple[Organ, ...] = many("To", Organ)
    document_id: str | None = text("DocumentId")
    code: Code | None = one("Code", Code)
    promulgation_info: PromulgationInfo | None = one("PromulgationInfo", PromulgationInfo)
    document_type: DocumentType | None = one("DocumentType", DocumentType)
    subject: str | None = text("Subject")
    content: str | None = text("Content")
    signer_info: SignerInfo | None = one("SignerInfo", SignerInfo)
    due_date: str | None = text("DueDate")
    other_info: OtherInfo | None = one("OtherInfo", OtherInfo)
    steering_type: str | None = text("SteeringType")
    to_places: ToPlaces | None = one("ToPlaces", ToPlaces)
    response_for: tuple[ResponseFor, ...] = many("ResponseFor", ResponseFor)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class StaffInfo:
    department: str | None = text("Department")
    staff: str | None = text("Staff")
    mobile: str | None = text("Mobile")
    email: str | None = text("Email")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class StatusHeader:
    """The header of a status package (no body, no attachments)."""

    from_: Organ | None = one("From", Organ)
    response_for: ResponseFor | None = one("ResponseFor", ResponseFor)
    staff_info: StaffInfo | None = one("StaffInfo", StaffInfo)
    status_code: str | None = text("StatusCode")
    description: str | None = text("Description")
    timestamp: str | None = text("Timestamp")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class TraceHeader:
    organ_id: str | None = text("OrganId")
    timestamp: str | None = text("Timestamp")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class OrganIdList:
    organ_id: tuple[str, ...] = texts("OrganId")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class ReplacementInfo:
    document_id: str | None = text("DocumentId")
    organ_id_list: OrganIdList | None = one("OrganIdList", OrganIdList)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class ReplacementInfoList:
    replacement_info: tuple[ReplacementInfo, ...] = many("ReplacementInfo", ReplacementInfo)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Receiver:
    organ_id: str | None = text("OrganId")
    receiver_type: str | None = text("ReceiverType")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class ReceiverList:
    receiver: tuple[Receiver, ...] = many("Receiver", Receiver)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class BussinessDocumentInfo:
    document_info: str | None = text("DocumentInfo")
    document_receiver: str | None = text("DocumentReceiver")
    receiver_list: ReceiverList | None = one("ReceiverList", ReceiverList)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


class BussinessDocType(enum.IntEnum):
    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


@dataclass(frozen=True)
class Bussiness:
    document_id: str | None = text("DocumentId")
    bussiness_doc_type: str | None = text("BussinessDocType")
    bussiness_doc_reason: str | None = text("BussinessDocReason")
    paper: str | None = text("Paper")
    replacement_info_list: ReplacementInfoList | None = one(
        "ReplacementInfoList", ReplacementInfoList)
    bussiness_document_info: BussinessDocumentInfo | None = one(
        "BussinessDocumentInfo", BussinessDocumentInfo)
    staff_info: StaffInfo | None = one("StaffInfo", StaffInfo)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()

    @property
    def doc_type(self) -> BussinessDocType | None:
        value = (self.bussiness_doc_type or "").strip()
        return BussinessDocType(int(value)) if value in ("0", "1", "2", "3") else None


@dataclass(frozen=True)
class TraceHeaderList:
    trace_header: tuple[TraceHeader, ...] = many("TraceHeader", TraceHeader)
    bussiness: Bussiness | None = one("Bussiness", Bussiness)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Reference:
    content_id: str | None = text("ContentId")
    content_type: str | None = text("ContentType")
    description: str | None = text("Description")
    attachment_name: str | None = text("AttachmentName")
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Manifest:
    reference: tuple[Reference, ...] = many("Reference", Reference)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Body:
    manifest: Manifest | None = one("edXMLManifest", Manifest)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class Attachment:
    """``content`` is the decoded payload; ``unreadable`` keeps a payload that was not base64."""

    content_id: str | None = text("ContentId")
    attachment_name: str | None = text("AttachmentName")
    description: str | None = text("Description")
    content_type: str | None = text("ContentType")
    content: bytes | None = payload("ContentTransferEncoded")
    unreadable: str | None = None
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()


@dataclass(frozen=True)
class AttachmentEncoded:
    attachment: tuple[Attachment, ...] = many("Attachment", Attachment)
    attrs: Attrs = attrs()
    extras: tuple[RawElement, ...] = extras()
