"""Why an edXML package was refused, in Vietnamese and English.

``EdxmlRefused`` is a :class:`~gateway.model.errors.Refused` (bilingual problems with stable
codes) and a :class:`~gateway.errors.GatewayError`, so callers that catch either see it.
"""

from __future__ import annotations

from gateway.errors import GatewayError
from gateway.model.errors import Problem, Refused


class EdxmlRefused(Refused, GatewayError):
    """An edXML package (or a part of one) that will not be accepted."""


def refuse(code: str, vi: str, en: str) -> EdxmlRefused:
    return EdxmlRefused(Problem(f"edxml.{code}", vi, en))


def too_big(what_vi: str, what_en: str, limit: int) -> EdxmlRefused:
    return refuse("too_large", f"Gói edXML quá lớn: {what_vi} vượt giới hạn {limit}.",
                  f"edXML package too large: {what_en} exceeds the limit of {limit}.")


def not_edxml(detail: str) -> EdxmlRefused:
    return refuse("not_xml", f"Tệp không phải gói edXML hợp lệ ({detail[:160]}).",
                  f"The file is not a valid edXML package ({detail[:160]}).")


def forbidden(what_vi: str, what_en: str) -> EdxmlRefused:
    return refuse("forbidden", f"Gói edXML bị từ chối vì chứa {what_vi} (không được phép).",
                  f"edXML package refused: it contains {what_en}, which is not allowed.")


def warning(code: str, vi: str, en: str) -> Problem:
    """A tolerated defect of a real-world package: reported to the clerk, never a crash."""
    return Problem(f"edxml.{code}", vi, en)
