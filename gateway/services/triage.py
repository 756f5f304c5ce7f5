"""Inbox triage, pure: what is unread, unhandled or overdue, search without diacritics, the
filters and the order a clerk sees. The TUI's inbox and ``gateway list`` both use it, so the
two show the same documents in the same order.

Unhandled Hỏa tốc and Khẩn documents are pinned on top whatever the sort, the most urgent
first, so that a burst of ordinary arrivals never buries them; within each urgency the chosen
sort applies.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from gateway.model import Agency, Urgency
from gateway.model.agency import matches
from gateway.store.local import Doc


class Filter(enum.Enum):
    ALL = "all"
    UNHANDLED = "unhandled"  # "Chưa xử lý": neither done nor rejected (nor recalled)
    OVERDUE = "overdue"  # "Quá hạn": unhandled and past its due date


class Sort(enum.Enum):
    DATE = "date"  # newest arrival first
    URGENCY = "urgency"  # most urgent first, then newest


def unread(doc: Doc) -> bool:
    return doc.direction == "in" and doc.opened_ms is None


def unhandled(doc: Doc) -> bool:
    return doc.direction == "in" and not (doc.inbox_status is not None
                                          and doc.inbox_status.final)


def overdue(doc: Doc, today: date) -> bool:
    due = doc.envelope.due_date
    return due is not None and due < today and unhandled(doc)


def pinned(doc: Doc) -> bool:
    return unhandled(doc) and doc.envelope.urgency >= Urgency.KHAN


def found(doc: Doc, query: str, directory: Mapping[str, Agency]) -> bool:
    """Every word of ``query`` in the subject, số/ký hiệu, type or the other side's name or
    code, ignoring case and diacritics ('so tan' finds 'sơ tán')."""
    env = doc.envelope
    names = [a.name for c in (env.sender, *env.recipients) if (a := directory.get(c))]
    return matches(query, env.subject, env.code, env.doc_type, env.sender, *env.recipients,
                   *names)


def arranged(docs: Sequence[Doc], directory: Mapping[str, Agency], today: date, *,
             query: str = "", which: Filter = Filter.ALL, sort: Sort = Sort.DATE) -> list[Doc]:
    """The documents to show, in the order to show them."""
    keep = [d for d in docs
            if (which is Filter.ALL or (which is Filter.UNHANDLED and unhandled(d))
                or (which is Filter.OVERDUE and overdue(d, today)))
            and (not query.strip() or found(d, query, directory))]
    if sort is Sort.URGENCY:
        keep.sort(key=lambda d: (-int(d.envelope.urgency), -d.stored_ms))
    else:
        keep.sort(key=lambda d: -d.stored_ms)
    # Stable: the pinned ones first, the most urgent of them on top (a Hỏa tốc never below a
    # Khẩn); the chosen sort holds within each group.
    return sorted(keep, key=lambda d: -int(d.envelope.urgency) if pinned(d) else 1)


@dataclass(frozen=True)
class Counts:
    incoming: int
    unread: int
    overdue: int


def counts(docs: Sequence[Doc], today: date) -> Counts:
    """How many incoming documents there are, and how many of them are unread or overdue."""
    incoming = [d for d in docs if d.direction == "in"]
    return Counts(len(incoming), sum(1 for d in incoming if unread(d)),
                  sum(1 for d in incoming if overdue(d, today)))
