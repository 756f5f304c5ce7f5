"""Tables that fit the clerk's terminal: one line per row, never wrapped.

Widths are counted in terminal cells, not characters: a Vietnamese letter written with a
combining mark takes one cell, a CJK character or an emoji two. Cells must already be safe
(:func:`~gateway.model.safe_text.safe_text`): a control character has no width to count.
When the terminal is narrow, columns shrink towards their floor, then the least useful ones
are dropped, and the flexible column (the subject) takes what is left; a cut cell ends in "…".
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Column", "cell_width", "clip", "field_lines", "fit", "terminal_width", "wrap"]

ELLIPSIS = "…"


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cell_width(text: str) -> int:
    return sum(_char_width(c) for c in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending in "…" when cut; marks stay with their
    letter."""
    if cell_width(text) <= width:
        return text
    room = width - 1
    out: list[str] = []
    used = 0
    for char in text:
        w = _char_width(char)
        if used + w > room:
            break
        out.append(char)
        used += w
    return "".join(out) + ELLIPSIS if width > 0 else ""


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_width(text))


def wrap(text: str, width: int) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` cells (a word longer than a
    line is cut into pieces), for long values in ``gateway show``."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        while cell_width(word) > width:
            head = clip(word + " ", width + 1)[:-1]  # as much of the word as fits
            head = head or word[0]
            if line:
                lines.append(line)
                line = ""
            lines.append(head)
            word = word[len(head):]
        candidate = f"{line} {word}" if line else word
        if cell_width(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    return lines


def field_lines(label: str, value: str, width: int) -> list[str]:
    """``label: value`` on one line when it fits; else the value wrapped under itself, or,
    when the label leaves no room (a hostile agency or file name), the label wrapped too and
    the value on the lines below it."""
    head = f"{label}: "
    if cell_width(head + value) <= width:
        return [head + value]
    if cell_width(head) > width // 2:
        return [*wrap(head.rstrip(), width), *("    " + line for line in wrap(value, width - 4))]
    indent = " " * cell_width(head)
    lines = wrap(value, width - len(indent))
    return [head + lines[0], *(indent + line for line in lines[1:])]


def terminal_width() -> int:
    """The terminal's width: ``COLUMNS`` when set, else that of the terminal standard output
    or error is (``gateway list | less`` still fits the screen), else 100."""
    if (columns := os.environ.get("COLUMNS", "")).isdigit() and int(columns) > 0:
        return int(columns)
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                return os.get_terminal_size(stream.fileno()).columns or 100
        except (OSError, ValueError):
            continue
    return 100


_COUNT_TAIL = re.compile(r" \+\d+$")


@dataclass(frozen=True)
class Column:
    header: str
    cap: int  # the widest it gets, however long its cells
    floor: int  # the narrowest it is squeezed to before a column is dropped
    flex: bool = False  # takes the room the others leave (at most one column)
    drop: int = 0  # dropped on a narrow terminal, lowest first; 0: never dropped
    count_tail: bool = False  # a final " +N" ("and N more") survives a cut


def _cut(column: Column, text: str, width: int) -> str:
    tail = _COUNT_TAIL.search(text) if column.count_tail else None
    if tail is None or cell_width(text) <= width or width <= len(tail[0]) + 1:
        return clip(text, width)
    return clip(text[:tail.start()], width - len(tail[0])) + tail[0]


def _widths(columns: Sequence[Column], natural: Sequence[int], width: int, gap: int,
                    flex_floor: int | None = None) -> list[int] | None:
    """Widths that fit ``width`` with the flexible column at ``flex_floor`` at least (its own
    floor when ``None``), or ``None``."""
    widths = list(natural)
    flex = next((i for i, c in enumerate(columns) if c.flex), None)
    fixed = [i for i in range(len(columns)) if i != flex]

    def room() -> int:
        return width - sum(widths[i] for i in fixed) - gap * (len(columns) - 1)

    need = 0 if flex is None else columns[flex].floor
    while room() < need:
        slack = max(fixed, key=lambda i: widths[i] - columns[i].floor, default=None)
        if slack is None or widths[slack] <= columns[slack].floor:
            return None
        widths[slack] -= 1
    if flex is not None:
        widths[flex] = min(natural[flex], room())
    return widths


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int,
        gap: int = 1) -> list[str]:
    """A header line and one line per row, none wider than ``width`` cells. Columns shrink
    to their floors, then droppable ones go; if even that leaves the flexible column short of
    its floor, it gets what is left (and a terminal too narrow for any of that gets every row
    cut at its edge)."""
    keep = list(range(len(columns)))
    while True:
        cols = [columns[i] for i in keep]
        natural = [min(c.cap, max([cell_width(c.header)]
                                  + [cell_width(r[i]) for r in rows]))
                   for c, i in zip(cols, keep, strict=True)]
        widths = _widths(cols, natural, width, gap)
        droppable = [i for i in keep if columns[i].drop]
        if widths is not None or not droppable:
            break
        keep.remove(min(droppable, key=lambda i: columns[i].drop))
    if widths is None:  # every column at its floor, the flexible one takes what is left
        widths = [n if c.flex else min(n, c.floor) for c, n in zip(cols, natural, strict=True)]
        flex = next((i for i, c in enumerate(cols) if c.flex), None)
        if flex is not None:
            used = sum(widths) - widths[flex] + gap * (len(cols) - 1)
            widths[flex] = max(1, min(natural[flex], width - used))
    lines = []
    for cells in [[c.header for c in columns], *rows]:
        parts = [_pad(_cut(columns[i], cells[i], w), w)
                 for i, w in zip(keep, widths, strict=True)]
        lines.append(clip((" " * gap).join(parts).rstrip(), width))
    return lines
