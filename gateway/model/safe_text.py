"""Text from another party made safe to show on a clerk's terminal; pure, no I/O.

Subjects, số/ký hiệu, signers, status notes, attachment and agency names and the hub's error
text all come from someone else. Written raw they could clear the screen or retitle the window
(ESC/CSI/OSC), write the clipboard (OSC 52), overwrite a line with a bare ``\\r``, act as 8-bit
CSI (C1 controls) or reorder what is displayed (bidi overrides, "Trojan Source"). Validation
refuses some of this on entry, but old stored data, the directory and the hub's words are not
validated that way, so every place that prints remote text passes it through here.

:func:`safe_text`, for people:

* C0 controls and DEL become their Unicode Control Pictures, so they stay visible and inert:
  ESC → ``␛``, CR → ``␍``, NUL → ``␀``, DEL → ``␡``, a newline → ``␊`` unless the caller allows
  several lines. A tab becomes one space (harmless, but it would break column alignment).
* C1 controls (U+0080–U+009F), bidi marks, embeddings, overrides and isolates (U+061C,
  U+200E/F, U+202A–E, U+2066–9), the deprecated format controls U+206A–F, the line and
  paragraph separators U+2028/9, interlinear annotation controls U+FFF9–B and lone surrogates
  become a visible marker such as ``⟨U+202E⟩``.
* Everything else passes unchanged: Vietnamese letters precomposed or with combining marks,
  other scripts, emoji. The result contains nothing the function would change again, so
  applying it twice is the same as once.

:func:`safe_json`, for scripts (``--json``): the decoded data stays exactly true, but every
character above and DEL (which :func:`json.dumps` leaves raw; it escapes only C0) is written
as a ``\\uXXXX`` escape, so the JSON text itself never carries a raw control to a terminal.
"""

from __future__ import annotations

import json
import re

__all__ = ["safe_json", "safe_text"]

# Shown as ⟨U+XXXX⟩: no Control Picture exists for them.
_MARKED = (
    "\x80-\x9f"  # C1 controls
    "\u061c\u200e\u200f"  # Arabic letter mark, LRM, RLM
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066-\u2069"  # LRI, RLI, FSI, PDI
    "\u206a-\u206f"  # deprecated format controls (symmetric swapping, digit shapes)
    "\ufff9-\ufffb"  # interlinear annotation controls
    "\ud800-\udfff"  # lone surrogates (undecodable bytes): they could not even be printed
)
_UNSAFE = re.compile(f"[\x00-\x1f\x7f{_MARKED}]")
_JSON_UNSAFE = re.compile(f"[\x7f{_MARKED}]")
_DEL_PICTURE = "\u2421"
_CONTROL_PICTURES = 0x2400  # U+2400 + code for U+0000–U+001F


def _shown(char: str) -> str:
    code = ord(char)
    if char == "\t":
        return " "
    if code < 0x20:
        return chr(_CONTROL_PICTURES + code)
    if code == 0x7F:
        return _DEL_PICTURE
    return f"⟨U+{code:04X}⟩"


def _shown_keep_newline(match: re.Match[str]) -> str:
    char = match.group()
    return char if char == "\n" else _shown(char)


def _shown_one_line(match: re.Match[str]) -> str:
    return _shown(match.group())


def safe_text(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control shown visibly and every bidi control marked; a newline is
    kept only when ``newlines`` (multi-line notes), else shown as ``␊``."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_shown_keep_newline if newlines else _shown_one_line, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_json(value: object, *, indent: int | None = 1) -> str:
    """``value`` as JSON that decodes to exactly ``value`` yet holds no raw control, DEL, C1,
    bidi control, separator or lone surrogate (those appear only inside strings, as escapes)."""
    return _JSON_UNSAFE.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=indent))
