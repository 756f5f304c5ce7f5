"""Dates as a clerk types them: day first (31/12/2026, or 31/12 for this year), or ISO.

Pure. Vietnamese offices write the day first; scripts write ISO 8601. Both are taken, and
anything else (a month-first date, 31/02/2026, words) is refused in plain words with an
example, never guessed at.
"""

from __future__ import annotations

import re
from datetime import date

from gateway.model.errors import Problem, Refused

__all__ = ["parse_day"]

_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def _refused(text: str) -> Refused:
    shown = text[:20].encode("ascii", "backslashreplace").decode()
    return Refused(Problem(
        "date.invalid",
        f"Ngày không hợp lệ: '{shown}' (viết ngày/tháng/năm, ví dụ 31/12/2026, hoặc "
        "2026-12-31)",
        f"Invalid date: '{shown}' (write day/month/year, e.g. 31/12/2026, or 2026-12-31)"))


def parse_day(text: str, today: date) -> date:
    """The date ``text`` names; ``today`` supplies the year when only day and month are
    given (31/12 means this year's, even if it has passed: a due date in the past is the
    clerk's call, not a guess about next year)."""
    text = text.strip()
    if iso := _ISO.fullmatch(text):
        year, month, day = (int(g) for g in iso.groups())
    elif dmy := _DAY_FIRST.fullmatch(text):
        day, month = int(dmy[1]), int(dmy[2])
        year = int(dmy[3]) if dmy[3] else today.year
    else:
        raise _refused(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise _refused(text) from None
