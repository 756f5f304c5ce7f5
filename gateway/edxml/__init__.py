"""edXML (QCVN 102:2016) packages: a hardened reader, a loss-free typed model, and export.

Public API: :func:`read_package` / :func:`read_package_file` / :func:`read_package_stream`
(bytes → :class:`Imported`), :func:`write_package` / :func:`package_bytes` (model → bytes), the
model classes, :class:`ParseLimits`, and :class:`EdxmlRefused` for every refusal.
"""

from gateway.edxml.errors import EdxmlRefused
from gateway.edxml.limits import DEFAULT_LIMITS, ParseLimits
from gateway.edxml.model import (
    Attachment,
    AttachmentEncoded,
    Bussiness,
    BussinessDocType,
    MessageHeader,
    Organ,
    Reference,
    ResponseFor,
    StaffInfo,
    StatusHeader,
    TraceHeader,
    TraceHeaderList,
)
from gateway.edxml.package import (
    STATUS_CODES,
    DocumentPackage,
    Imported,
    Package,
    StatusPackage,
    package_bytes,
    read_package,
    read_package_file,
    read_package_stream,
    write_package,
)
from gateway.edxml.reader import NS

__all__ = [
    "DEFAULT_LIMITS", "NS", "STATUS_CODES", "Attachment", "AttachmentEncoded", "Bussiness",
    "BussinessDocType", "DocumentPackage", "EdxmlRefused", "Imported", "MessageHeader", "Organ",
    "Package", "ParseLimits", "Reference", "ResponseFor", "StaffInfo", "StatusHeader",
    "StatusPackage", "TraceHeader", "TraceHeaderList", "package_bytes", "read_package",
    "read_package_file", "read_package_stream", "write_package",
]
