"""Remote text that attacks a terminal, and an independent check that output is inert.

The check is written here, apart from :mod:`gateway.model.safe_text`, so the tests do not
trust the code they test: a character is unsafe if it is a C0 control (a newline only where
the caller allows several lines), DEL, a C1 control or a bidi control.
"""

from __future__ import annotations

BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Each piece is something a real terminal or Rich would obey.
CLEAR = "\x1b[2J\x1b[H"  # CSI: clear the screen, cursor home
TITLE = "\x1b]0;pwned\x07"  # OSC 0: window title
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write the clipboard
OVERWRITE = "\rĐã duyệt"  # bare CR: overwrite the start of the line
C1 = "\x9b31m\x9d0;t\x9c\x85"  # 8-bit CSI, OSC, ST, NEL
BIDI_TRICK = "\u202eFDP.exe\u202c\u2066\u200f\u061c\u2069"
MARKUP = "[bold red]X[/] [link=https://evil.example]y[/link] [/]"  # Rich/Textual markup
OTHER_C0 = "\x08\x07\t\x00\x7f"

TERMINAL_ATTACK = CLEAR + TITLE + CLIPBOARD + OVERWRITE + C1 + BIDI_TRICK + MARKUP + OTHER_C0
# Attachment names may not hold C0 controls or DEL (refused on entry): the rest still applies.
NAME_ATTACK = C1 + BIDI_TRICK + "[bold]x[reverse]"  # no "/": names may not hold one


def attack(label: str) -> str:
    """A field value that names itself, so a test can find where it was shown."""
    return f"{label}<{TERMINAL_ATTACK}>"


def name_attack(label: str) -> str:
    return f"{label}<{NAME_ATTACK}>.pdf"


def unsafe(text: str, *, newlines: bool = False) -> list[str]:
    """The characters of ``text`` a terminal might obey, as ``U+XXXX`` (empty when inert)."""
    return [f"U+{ord(c):04X}" for c in text
            if (ord(c) < 0x20 and not (newlines and c == "\n"))
            or 0x7F <= ord(c) <= 0x9F or c in BIDI]
