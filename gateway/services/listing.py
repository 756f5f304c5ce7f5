"""What ``gateway list`` and ``gateway show`` need beyond the documents themselves: the
agency directory (to print names, not codes) and the id prefix length that stays unique."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.model import Directory
from gateway.services.box import load_directory, opened, read_config
from gateway.services.lookup import shortest_prefixes
from gateway.store.local import Doc


@dataclass(frozen=True)
class Listing:
    docs: list[Doc]
    prefix: int  # characters of each id to print: enough to tell every document apart
    directory: Directory


async def listing(data: str, direction: str | None) -> Listing:
    """Every document (or one direction's, ``"in"``/``"out"``), newest first."""
    async with opened(data) as box:
        docs = await box.store.list_documents(direction)
        prefix = await shortest_prefixes(box.store)
        directory = await asyncio.to_thread(load_directory, box.layout)
    return Listing(docs, prefix, directory)


def box_directory(data: str) -> Directory:
    """The directory of the box at ``data`` (the sample one when it has none); blocking."""
    layout, _ = read_config(data)
    return load_directory(layout)
