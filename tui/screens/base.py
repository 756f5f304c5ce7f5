"""Screen bases whose key descriptions follow the UI language.

``BINDINGS`` descriptions are i18n keys (``key.compose``); the footer and the help overlay show
them through :func:`tui.i18n.t`, so switching language needs only ``refresh_bindings()``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, TypeVar

from textual.binding import ActiveBinding, Binding, BindingType
from textual.screen import ModalScreen, Screen

from tui.i18n import has, t

R = TypeVar("R")


ALWAYS_FIRST = ("f1", "ctrl+q")  # help and quit lead the footer, so a narrow screen keeps them
# Keys with another cue on screen or a habit behind them (the tabs are labelled, Esc goes back,
# F2/F3/F5 are settings) go after the screen's own actions, which a narrow footer cuts last.
LAST = ("key.back", "key.inbox", "key.outbox", "key.refresh", "key.lang", "key.ime")


def _rank(key: str, active: ActiveBinding) -> int:
    if key in ALWAYS_FIRST:
        return ALWAYS_FIRST.index(key)
    if active.binding.description in LAST:
        return len(ALWAYS_FIRST) + 1 + LAST.index(active.binding.description)
    return len(ALWAYS_FIRST)


def localize(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """Descriptions in the UI language; F1 and Ctrl+Q first, then the screen's own actions
    (the footer cuts the right end)."""
    out: dict[str, ActiveBinding] = {}
    ordered = sorted(bindings.items(), key=lambda kv: _rank(*kv))
    for key, active in ordered:
        b = active.binding
        if has(b.description):
            active = active._replace(binding=replace(b, description=t(b.description)))
        out[key] = active
    return out


def key_label(key: str) -> str:
    """'ctrl+s' → 'Ctrl+S', 'escape' → 'Esc', 'f5' → 'F5', 'n' → 'n'."""
    named = {"escape": "Esc", "enter": "Enter", "delete": "Delete", "space": "Space"}
    if key in named:
        return named[key]
    if key.startswith("ctrl+"):
        return "Ctrl+" + key.removeprefix("ctrl+").upper()
    return key.upper() if len(key) > 1 else key


def shown(bindings: list[BindingType]) -> list[tuple[str, str]]:
    """(key as displayed, words) for the help overlay."""
    rows = []
    for b in bindings:
        if isinstance(b, Binding) and b.show and has(b.description):
            rows.append((b.key_display or key_label(b.key), t(b.description)))
    return rows


class ClerkScreen(Screen[R]):
    HELP_SECTION: ClassVar[str] = ""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return localize(super().active_bindings)


class ClerkModal(ModalScreen[R]):
    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return localize(super().active_bindings)
