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
