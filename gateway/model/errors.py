"""Refusals that a person reads: every message exists in Vietnamese and English.

Clerks are not technical, so a refusal carries plain words in both languages and a stable
``code`` that programs (CLI exit paths, the TUI, the hub's 4xx replies) can match on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gateway.errors import GatewayError


def ui_language() -> str:
    """The language of messages: ``GATEWAY_LANG=en`` switches to English, Vietnamese otherwise."""
    return "en" if os.environ.get("GATEWAY_LANG", "vi").lower().startswith("en") else "vi"


@dataclass(frozen=True)
class Problem:
    code: str
    vi: str
    en: str

    def text(self, lang: str | None = None) -> str:
        return self.en if (lang or ui_language()) == "en" else self.vi


class Refused(GatewayError):
    """Input that the gateway will not accept; holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        super().__init__("; ".join(p.en for p in self.problems))

    def text(self, lang: str | None = None) -> str:
        return "; ".join(p.text(lang).rstrip(".") for p in self.problems) + "."

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


def database_damaged(path: object, detail: str) -> Problem:
    """SQLite cannot read the file as a database (bad header, torn page, wrong file)."""
    return Problem("store.corrupt",
        f"Cơ sở dữ liệu {path} bị hỏng ({detail[:120]}). Hãy báo cán bộ CNTT của tỉnh.",
        f"The database {path} is damaged ({detail[:120]}). Call the provincial IT team.")


def database_unavailable(path: object, detail: str) -> Problem:
    """SQLite could not open or use the file: permissions, a full disk, a lock held too long."""
    return Problem("store.unavailable",
        f"Không mở được cơ sở dữ liệu {path}: {detail[:120]}.",
        f"Cannot use the database {path}: {detail[:120]}.")


def hub_url_not_https(url: str, where: str = "") -> Problem:
    """Anything but https would hand the enrollment token and every document to the network;
    ``where`` names the source of the address (a config file) when it is not the command line."""
    shown = printable(url)
    return Problem("hub.not_https",
        f"{where}Địa chỉ máy chủ tỉnh phải bắt đầu bằng https:// (nhận được '{shown}'); "
        "không gửi gì qua kết nối không mã hóa.",
        f"{where}The hub address must start with https:// (got '{shown}'); nothing is sent over "
        "an unencrypted link.")


def is_utf8(text: str) -> bool:
    """False for text holding lone surrogates: bytes that were not UTF-8, kept by Python's
    ``surrogateescape`` when it decoded the command line or a file name."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, with undecodable bytes shown as ``\\xNN``."""
    try:
        return text[:limit].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte decoded to
        return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def not_utf8(what_vi: str, what_en: str, text: str) -> Problem:
    return Problem("text.not_utf8",
        f"{what_vi} không phải văn bản UTF-8 hợp lệ: '{printable(text)}'. Hãy gõ lại hoặc đổi tên.",
        f"{what_en} is not valid UTF-8 text: '{printable(text)}'. Retype it or rename it.")


def identity_damaged(detail: str) -> Problem:
    return Problem("identity.damaged",
        f"Tệp định danh của máy bị hỏng ({detail[:160]}); hãy báo cán bộ CNTT để đăng ký lại.",
        f"The box's identity files are damaged ({detail[:160]}); ask the IT team to re-enroll.")


def system_error(detail: str) -> Problem:
    return Problem("system.error", f"Lỗi hệ thống: {detail[:200]}.",
                   f"System error: {detail[:200]}.")


def unexpected_error(detail: str) -> Problem:
    return Problem("internal.error",
        f"Lỗi không mong đợi: {detail[:200]}. GATEWAY_DEBUG=1 cho xem chi tiết.",
        f"Unexpected error: {detail[:200]}. GATEWAY_DEBUG=1 shows the details.")
