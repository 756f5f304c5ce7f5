"""Logging for the two daemons: one line per event, the level in the line, journald-friendly.

Under systemd (``JOURNAL_STREAM`` set) each line starts with the syslog priority ``<N>`` that
journald turns into the entry's priority, and carries no timestamp (the journal has one);
elsewhere lines start with an ISO time. A traceback is folded into the same line (`` | ``
between its lines): a multi-line record becomes many journal entries that no filter keeps
together. Messages never carry document contents or secrets; callers log ids and sizes.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

LEVELS = ("debug", "info", "warning", "error")
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
             logging.CRITICAL: 2}


class OneLine(logging.Formatter):
    """``LEVEL logger: message`` with any exception folded into the same line."""

    def __init__(self, *, journal: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s" if journal
                         else "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = " | ".join(line for line in super().format(record).splitlines() if line.strip())
        if self.journal:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"
        return text


def configure(level: str = "info", *, stream: TextIO | None = None) -> None:
    """Sends every ``gateway.*`` and ``aiohttp.*`` record at ``level`` or above to stderr."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(OneLine(journal=bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiohttp logs every refused TLS handshake of a port scanner at ERROR; keep those at debug.
    logging.getLogger("asyncio").setLevel(max(logging.WARNING, root.level))
