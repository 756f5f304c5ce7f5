"""Errors of the signing package: each carries a bilingual :class:`Problem` for the clerk.

``GatewayError`` ← ``SigningError`` ← ``SigningConfigError`` (bad ``signing`` config),
``KeyUnavailable`` (PKCS#12/PKCS#11 key cannot be opened), ``SignFailed`` (the PDF could not be
signed). Verification never raises for a bad PDF: that is a verdict, not an error.
"""

from __future__ import annotations

from gateway.errors import GatewayError
from gateway.model.errors import Problem

__all__ = ["KeyUnavailable", "SignFailed", "SigningConfigError", "SigningError"]


class SigningError(GatewayError):
    """Something the clerk or the IT team must fix before signing or verifying can work."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.en)

    def text(self, lang: str | None = None) -> str:
        return self.problem.text(lang)


class SigningConfigError(SigningError):
    """The ``signing`` section of the box's config is wrong."""


class KeyUnavailable(SigningError):
    """The agency's key could not be opened: wrong password/PIN, missing token, bad file."""


class SignFailed(SigningError):
    """The PDF could not be signed (unreadable input, a certification that forbids changes)."""


def config_problem(key: str, detail: str) -> Problem:
    return Problem("signing.config",
                   f"Cấu hình ký số sai ở '{key}': {detail[:160]}.",
                   f"The signing configuration is wrong at '{key}': {detail[:160]}.")


def key_problem(detail: str) -> Problem:
    return Problem("signing.key",
                   f"Không mở được khóa ký số của cơ quan: {detail[:160]}.",
                   f"Cannot open the agency's signing key: {detail[:160]}.")


def sign_problem(detail: str) -> Problem:
    return Problem("signing.failed",
                   f"Không ký số được tệp PDF: {detail[:160]}.",
                   f"Could not sign the PDF: {detail[:160]}.")
