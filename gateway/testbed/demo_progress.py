"""The demo's progress table: a legend that says what each column means, a header naming the
communes, then one line per check, each at most 100 columns wide. Pure formatting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CommuneProgress", "fmt_bytes", "header", "legend", "progress_line"]

_TIME = 7  # "  123.4"
_COUNT = 5  # "12/12"
_BYTES = 9  # "1.5M/12M"
_CUTS = 4
_SEP = " │ "


@dataclass(frozen=True)
class CommuneProgress:
    """One commune at one check: what it sent and got, and what its link carried."""

    delivered: int  # its documents that reached every recipient
    sent: int
    arrived: int  # documents addressed to it that are in its inbox
    expected: int
    bytes_up: int
    bytes_down: int
    cuts: int


def _t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def fmt_bytes(n: int) -> str:
    """At most 4 characters below 1 TB: 812K, 1.5M, 37M, 2.1G, 37G."""
    if n < 1000 * 1024:
        return f"{n // 1024}K"
    mb = n / 2**20
    if mb < 9.95:
        return f"{mb:.1f}M"
    if mb < 999.5:
        return f"{mb:.0f}M"
    gb = mb / 1024
    return f"{gb:.1f}G" if gb < 9.95 else f"{gb:.0f}G"


def _cell_width() -> int:
    return _COUNT + 1 + _COUNT + 1 + _BYTES + 1 + _CUTS


def legend(lang: str) -> list[str]:
    """What the columns mean, in the words the header uses."""
    return [
        _t(lang, "Mỗi dòng là một lần kiểm tra (2 giây một lần); với mỗi xã:",
           "One line per check (every 2 s); for each commune:"),
        _t(lang, "  gửi = văn bản xã gửi đã tới mọi nơi nhận / đã gửi;  "
                 "nhận = văn bản đã về xã / sẽ về xã",
           "  sent = its documents that reached every recipient / sent;  "
           "recv = arrived / addressed to it"),
        _t(lang, "  lên/xuống = dữ liệu đường truyền của xã đã chở (K = KB, M = MB);  "
                 "mất = số lần mất mạng",
           "  up/down = bytes its link carried (K = KB, M = MB);  "
           "cuts = times its link went down"),
    ]


def header(names: Sequence[str], lang: str) -> list[str]:
    """Two lines: the communes' names over their columns, then the column names."""
    width = _cell_width()
    first = " " * _TIME + "".join(_SEP + _fit(n, width) for n in names)
    cols = (f"{_t(lang, 'gửi', 'sent'):>{_COUNT}} {_t(lang, 'nhận', 'recv'):>{_COUNT}} "
            f"{_t(lang, 'lên/xuống', 'up/down'):>{_BYTES}} {_t(lang, 'mất', 'cuts'):>{_CUTS}}")
    second = f"{_t(lang, 'giây', 's'):>{_TIME}}" + "".join(_SEP + cols for _ in names)
    return [first.rstrip(), second]


def progress_line(elapsed_s: float, communes: Sequence[CommuneProgress]) -> str:
    cells = (f"{f'{c.delivered}/{c.sent}':>{_COUNT}} {f'{c.arrived}/{c.expected}':>{_COUNT}} "
             f"{f'{fmt_bytes(c.bytes_up)}/{fmt_bytes(c.bytes_down)}':>{_BYTES}} "
             f"{c.cuts:>{_CUTS}}" for c in communes)
    return f"{elapsed_s:>{_TIME}.1f}" + "".join(_SEP + cell for cell in cells)


def _fit(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
