"""What ``gateway list``, ``show`` and ``status`` need beyond the documents themselves: the
agency directory (to print names, not codes) and the id prefix length that stays unique.

A damaged directory file must not keep the clerk from the documents: the names are then
missing (codes are shown instead) and :attr:`Names.problem` says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.model import Directory, Problem, Refused
from gateway.services.box import load_directory, opened, read_config
from gateway.services.lookup import shortest_prefixes
from gateway.store.layout import Layout
from gateway.store.local import Doc


@dataclass(frozen=True)
class Names:
    directory: Directory
    problem: Problem | None = None  # why there are no names: the directory could not be read


@dataclass(frozen=True)
class Listing:
    docs: list[Doc]
    prefix: int  # characters of each id to print: enough to tell every document apart
    names: Names


def _names(layout: Layout) -> Names:
    try:
        return Names(load_directory(layout))
    except Refused as exc:
        vi, en = exc.text("vi"), exc.text("en")
    except (OSError, UnicodeDecodeError) as exc:
        vi = en = str(exc)
    return Names(Directory([]), Problem(
        "directory.unreadable",
        f"Không đọc được danh bạ cơ quan, nên hiện mã thay cho tên ({vi.rstrip('.')})",
        f"The agency directory cannot be read, so codes are shown instead of names "
        f"({en.rstrip('.')})"))


async def listing(data: str, direction: str | None) -> Listing:
    """Every document (or one direction's, ``"in"``/``"out"``), newest first."""
    async with opened(data) as box:
        docs = await box.store.list_documents(direction)
        prefix = await shortest_prefixes(box.store)
        names = await asyncio.to_thread(_names, box.layout)
    return Listing(docs, prefix, names)


def box_names(data: str) -> Names:
    """The directory of the box at ``data`` (the sample one when it has none); blocking."""
    layout, _ = read_config(data)
    return _names(layout)
