"""Errors of the signing package: each carries a bilingual :class:`Problem` for the clerk.

``GatewayError`` ← ``SigningError`` ← ``SigningConfigError`` (bad ``signing`` config),
``KeyUnavailable`` (PKCS#12/PKCS#11 key cannot be opened; a token's PIN refusals are
:func:`token_problem`), ``PinCancelled`` (the clerk closed the PIN prompt), ``SignFailed`` (the
PDF could not be signed). No text here ever holds a PIN. Verification never raises for a bad
PDF: that is a verdict, not an error.
"""

from __future__ import annotations

from gateway.errors import GatewayError
from gateway.model.errors import Problem

__all__ = ["KeyUnavailable", "PinCancelled", "SignFailed", "SigningConfigError", "SigningError",
           "token_problem"]


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


class PinCancelled(SigningError):
    """The clerk closed the PIN prompt: nothing is signed or sent."""

    def __init__(self) -> None:
        super().__init__(Problem(
            "signing.pin_cancelled",
            "Đã hủy nhập mã PIN: văn bản chưa được ký số và chưa được gửi.",
            "PIN entry cancelled: the document was not signed and not sent."))


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


# Tokens count wrong PINs in a row and lock themselves; the count is the vendor's (FEITIAN
# ePass2003, common in Vietnam: 10; many others: 5; SafeNet eToken: set per token, up to 15).
# SoftHSM never locks. PKCS#11 reports "count low", "final try" and "locked" as token flags.
_LOCK_WARNING = ("Thiết bị sẽ tự khóa sau vài lần nhập sai liên tiếp (thường 5 đến 10 lần, tùy "
                 "loại); khi đó chỉ nhà cung cấp chữ ký số mới mở khóa được.",
                 "The token locks itself after a few wrong PINs in a row (usually 5 to 10, "
                 "depending on the model); then only the certificate provider can unlock it.")
_LOCKED = ("Thiết bị ký số (USB token) đã bị khóa vì nhập sai mã PIN nhiều lần, nên chưa ký "
           "được. Hãy báo người giữ thiết bị liên hệ nhà cung cấp chữ ký số để mở khóa; đừng "
           "thử thêm mã PIN.",
           "The signing token (USB token) is locked after too many wrong PINs, so nothing can "
           "be signed. Ask its holder to have the certificate provider unlock it; do not try "
           "more PINs.")

_TOKEN: dict[str, tuple[str, str]] = {
    "pin_wrong": ("Sai mã PIN của thiết bị ký số (USB token). Hãy nhập lại cẩn thận. "
                  + _LOCK_WARNING[0],
                  "Wrong PIN for the signing token (USB token). Type it again carefully. "
                  + _LOCK_WARNING[1]),
    "pin_final_try": ("Sai mã PIN của thiết bị ký số. CHỈ CÒN MỘT LẦN THỬ: nhập sai lần nữa "
                      "thiết bị sẽ bị khóa. Nếu không chắc mã PIN, hãy dừng lại và hỏi người "
                      "giữ thiết bị.",
                      "Wrong PIN for the signing token. ONE TRY LEFT: one more wrong PIN locks "
                      "the token. If you are not sure of the PIN, stop and ask its holder."),
    "pin_locked": _LOCKED,
    "pin_expired": ("Mã PIN của thiết bị ký số đã hết hạn hoặc phải đổi: hãy đổi mã PIN bằng "
                    "phần mềm đi kèm thiết bị rồi gửi lại.",
                    "The signing token's PIN has expired or must be changed: change it with "
                    "the token's own software, then send again."),
    "pin_empty": ("Chưa nhập mã PIN của thiết bị ký số; văn bản chưa được gửi.",
                  "No PIN was entered for the signing token; the document was not sent."),
    "pin_missing": ("Chưa có mã PIN của thiết bị ký số (USB token): hãy gửi từ màn hình văn "
                    "thư hoặc chạy lệnh trong một cửa sổ dòng lệnh (terminal) để được hỏi mã "
                    "PIN, hoặc nhờ cán bộ CNTT đặt pin_file trong cấu hình ký số.",
                    "No PIN for the signing token (USB token): send from the clerk's screen or "
                    "run the command in a terminal to be asked for it, or have the IT team set "
                    "pin_file in the signing configuration."),
    "token_missing": ("Không thấy thiết bị ký số (USB token) {which}. Hãy cắm USB token vào "
                      "máy, chờ vài giây rồi gửi lại.",
                      "The signing token (USB token) {which} is not there. Plug it in, wait a "
                      "few seconds, then send again."),
}


def token_problem(kind: str, which: str = "") -> Problem:
    """A token refusal by kind (``pin_wrong``, ``pin_final_try``, ``pin_locked``,
    ``pin_expired``, ``pin_empty``, ``pin_missing``, ``token_missing``); ``which`` names the
    token (its label or slot), never a secret."""
    vi, en = _TOKEN[kind]
    shown = which[:80]
    return Problem(f"signing.{kind}", " ".join(vi.format(which=shown).split()),
                   " ".join(en.format(which=shown).split()))
