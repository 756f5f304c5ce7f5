"""The Prometheus text format, written so that every value survives the trip.

Integers print as integers, digit for digit (``%g`` printed 1234567 and 1234568 both as
``1.23457e+06``, so counters stopped counting after a million); other numbers print as the
shortest text that reads back as the same float. Label values are escaped, and remote text in
them is cut short, so a box cannot inflate the page or break its lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

Sample = tuple[dict[str, str], int | float]
MAX_LABEL_CHARS = 120
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")


def number(value: int | float) -> str:
    """Exact text of ``value`` in the exposition format."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def label(value: str) -> str:
    value = value[:MAX_LABEL_CHARS]
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    """Families of samples, each with its HELP and TYPE lines, in the order added."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bad metric name {name!r}")
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            text = ",".join(f'{k}="{label(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{text}}} {number(value)}" if text
                              else f"{name} {number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
