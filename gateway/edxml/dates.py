"""The date spellings found in edXML packages.

Packages keep dates as the text they arrived with (so re-export is byte-faithful); these
helpers read that text when a real date is needed. QCVN 102 writes ``yyyy/MM/dd`` and
timestamps ``yyyy/MM/dd HH:mm:ss``; some systems write ``dd/MM/yyyy``; ISO ``yyyy-MM-dd`` is
accepted too. Impossible dates (the SDK samples contain ``2014/02/30``) read as ``None``.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_YMD = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    value = text.strip()
    try:
        if m := _YMD.match(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(value):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def parse_timestamp(text: str | None) -> datetime | None:
    """``yyyy/MM/dd HH:mm:ss`` (or ``dd/MM/yyyy …``, or ISO with ``T``); naive local time."""
    if not text:
        return None
    day_text, _, time_text = text.strip().replace("T", " ").partition(" ")
    day = parse_date(day_text)
    if day is None:
        return None
    if not time_text:
        return datetime(day.year, day.month, day.day)
    m = _TIME.match(time_text.strip())
    if not m:
        return None
    try:
        return datetime(day.year, day.month, day.day, int(m[1]), int(m[2]), int(m[3] or 0))
    except ValueError:
        return None


def format_date(value: date) -> str:
    """The form we write: ``yyyy/MM/dd``."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_timestamp(value: datetime) -> str:
    return f"{format_date(value.date())} {value:%H:%M:%S}"
