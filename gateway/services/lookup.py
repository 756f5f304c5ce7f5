"""A document named by the first characters of its id, as ``git`` names commits.

A full id is 36 characters; nobody types that from a printed list. Every command that takes
an id takes a prefix of at least :data:`MIN_PREFIX` characters instead, as long as exactly one
document starts with it. ``gateway list`` prints the shortest prefixes that work
(:func:`unique_prefix_length`), so what the clerk reads is what the clerk types.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gateway.model import Problem, Refused
from gateway.model.errors import printable
from gateway.services.box import opened
from gateway.store.local import LocalStore
from gateway.store.lookup import all_ids, ids_starting_with

__all__ = ["MIN_PREFIX", "AmbiguousId", "Candidate", "resolve", "resolved_id",
           "shortest_prefixes", "unique_prefix_length"]

MIN_PREFIX = 4
SHOWN_PREFIX = 8  # the list never prints fewer: a 4-character prefix soon stops being unique
MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Candidate:
    """One document a prefix matched: enough for the clerk to tell which was meant."""

    id: str
    direction: str
    issued: date
    subject: str


class AmbiguousId(Refused):
    """The prefix names no single document: too short, or shared by several (``candidates``,
    at most :data:`MAX_CANDIDATES`; ``more`` when there were others). A usage error: the
    clerk types a longer prefix."""

    def __init__(self, problem: Problem, candidates: tuple[Candidate, ...] = (),
                 more: bool = False) -> None:
        super().__init__(problem)
        self.candidates = candidates
        self.more = more


def _too_short(text: str) -> AmbiguousId:
    shown = printable(text, 40)
    return AmbiguousId(Problem(
        "document.prefix_short",
        f"Mã văn bản '{shown}' quá ngắn: gõ ít nhất {MIN_PREFIX} ký tự đầu của mã "
        "(xem 'gateway list')",
        f"Document id '{shown}' is too short: type at least its first {MIN_PREFIX} "
        "characters (see 'gateway list')"))


def _not_found(text: str) -> Refused:
    shown = printable(text, 40)
    return Refused(Problem(
        "document.not_found",
        f"Không có văn bản nào có mã bắt đầu bằng '{shown}' (xem 'gateway list')",
        f"No document id starts with '{shown}' (see 'gateway list')"))


async def resolve(store: LocalStore, text: str) -> str:
    """The full id of the one document ``text`` names: its id, or a unique prefix of it."""
    text = text.strip()
    ids = await ids_starting_with(store, text, MAX_CANDIDATES + 1) if text else []
    if ids and ids[0] == text:
        return text
    if len(text) < MIN_PREFIX:
        raise _too_short(text)
    if not ids:
        raise _not_found(text)
    if len(ids) == 1:
        return ids[0]
    docs = [await store.document(i) for i in ids[:MAX_CANDIDATES]]
    shown = printable(text, 40)
    raise AmbiguousId(Problem(
        "document.prefix_ambiguous",
        f"Có nhiều văn bản có mã bắt đầu bằng '{shown}'; gõ thêm vài ký tự của mã",
        f"Several documents have an id starting with '{shown}'; type a few more "
        "characters of the id"),
        tuple(Candidate(d.envelope.id, d.direction, d.envelope.issue_date, d.envelope.subject)
              for d in docs),
        more=len(ids) > MAX_CANDIDATES)


async def resolved_id(data: str, text: str) -> str:
    """:func:`resolve` on the box at ``data``."""
    async with opened(data) as box:
        return await resolve(box.store, text)


def unique_prefix_length(ids: Iterable[str], minimum: int = SHOWN_PREFIX) -> int:
    """The least length (at least ``minimum``) at which no two of ``ids`` share a prefix,
    letters compared in any case as :func:`resolve` does; an id shorter than that is shown
    whole, and whole it is still found (an exact id always wins)."""
    ordered = sorted({i.lower() for i in ids})
    length = minimum
    for a, b in itertools.pairwise(ordered):
        common = next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                      min(len(a), len(b)))
        length = max(length, common + 1)
    return length


async def shortest_prefixes(store: LocalStore) -> int:
    """:func:`unique_prefix_length` over every document on the box."""
    return unique_prefix_length(await all_ids(store))
