"""``gateway list`` and ``gateway show`` for people: agency names, plain-words states and
events, day-first dates, fitted to the terminal's width.

Every remote field goes through :func:`~gateway.model.safe_text.safe_text` before it is
measured or printed, so a control character, a bidi override or a 10 000-character name can
neither reach the terminal nor break a row onto a second line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from gateway.cli.render import signature_lines
from gateway.cli.table import Column, clip, field_lines, fit, wrap
from gateway.model import Agency
from gateway.model.safe_text import safe_text as s
from gateway.services.labels import (
    actor_label,
    agency_label,
    business_label,
    event_label,
    fmt_day,
    fmt_size,
    fmt_time,
    overdue_label,
    state_label,
    summary_state,
    urgency_label,
)
from gateway.services.lookup import AmbiguousId
from gateway.services.signatures import AttachmentVerdict
from gateway.services.triage import Counts, overdue, unread
from gateway.store.local import Doc, EventRow

__all__ = ["candidate_lines", "count_line", "doc_table", "doc_text"]

UNREAD = "•"  # the marker column: an incoming document nobody has opened yet


def _peer(doc: Doc, directory: Mapping[str, Agency], arrow: bool) -> str:
    env = doc.envelope
    if doc.direction == "in":
        name = agency_label(directory, env.sender)
    else:
        names = [agency_label(directory, c) for c in env.recipients]
        name = names[0] if names else ""
        if len(names) > 1:
            name = f"{name} +{len(names) - 1}"  # the count survives a cut (count_tail)
    return f"{'←' if doc.direction == 'in' else '→'} {name}" if arrow else name


def _state(doc: Doc, lang: str, today: date) -> str:
    state = s(summary_state(doc, lang))
    return overdue_label(state, lang) if overdue(doc, today) else state


def doc_table(docs: list[Doc], directory: Mapping[str, Agency], prefix: int, lang: str,
              width: int, direction: str | None, today: date) -> list[str]:
    """A header line and one line per document, in the order given; an unread one is marked
    "•", an overdue one says so before its state."""
    en = lang == "en"
    peer = {"in": ("Nơi gửi", "From"), "out": ("Nơi nhận", "To")}.get(
        direction or "", ("Nơi gửi/nhận", "From/To"))
    columns = [
        Column("", cap=1, floor=1),  # unread marker
        Column("ID" if en else "Mã", cap=prefix, floor=prefix),
        Column("Issued" if en else "Ngày", cap=10, floor=10, drop=1),
        Column("Urgency" if en else "Độ khẩn", cap=16, floor=16),
        Column(peer[1] if en else peer[0], cap=24, floor=12, count_tail=True),
        Column("Subject" if en else "Trích yếu", cap=1000, floor=30, flex=True),
        Column("State" if en else "Trạng thái", cap=20, floor=10),
    ]
    rows = [[UNREAD if unread(d) else " ", s(d.envelope.id[:prefix]),
             fmt_day(d.envelope.issue_date), urgency_label(d.envelope.urgency, lang),
             _peer(d, directory, direction is None), s(d.envelope.subject),
             _state(d, lang, today)] for d in docs]
    if not rows:
        return ["No documents." if en else "Chưa có văn bản nào."]
    if direction == "out":  # nothing outgoing is ever unread: no marker column
        columns, rows = columns[1:], [r[1:] for r in rows]
    return fit(columns, rows, width, gap=2 if width >= 120 else 1)


def count_line(counts: Counts, shown: int, total: int, lang: str) -> str:
    """'12 văn bản đến, 3 chưa đọc, 1 quá hạn', after how many of all are shown when a
    search or filter hides some."""
    if lang == "en":
        head = f"Showing {shown} of {total}. " if shown != total else ""
        return (f"{head}{counts.incoming} incoming, {counts.unread} unread, "
                f"{counts.overdue} overdue")
    head = f"Đang hiện {shown} trên {total} văn bản. " if shown != total else ""
    return (f"{head}{counts.incoming} văn bản đến, {counts.unread} chưa đọc, "
            f"{counts.overdue} quá hạn")


_HUB_RECEIPTS = ("at_hub", "delivered")  # written by the hub, about one recipient (the actor)


def _event_line(e: EventRow, directory: Mapping[str, Agency], lang: str, width: int) -> list[str]:
    if e.kind in _HUB_RECEIPTS:
        who = actor_label("hub", directory, lang)
        what = f"{event_label(e, lang)} → {agency_label(directory, e.actor)}"
    else:
        who, what = actor_label(e.actor, directory, lang), event_label(e, lang)
    what = f"{fmt_time(e.at_ms)}  {who}: {what}"
    detail = "" if e.kind == "queued" else s(e.detail)  # "N recipients": listed above already
    if detail:
        return field_lines("  " + what, detail, width)
    first, *rest = wrap(what, width - 4)
    return [f"  {first}", *(f"    {line}" for line in rest)]


def doc_text(doc: Doc, events: list[EventRow], lang: str = "vi",
             verdicts: list[AttachmentVerdict] | None = None,
             directory: Mapping[str, Agency] | None = None, width: int = 100) -> str:
    """Everything about one document, field by field, long values wrapped to ``width``."""
    env = doc.envelope
    en = lang == "en"
    names = directory or {}
    fields = [
        ("Document" if en else "Văn bản", s(env.id)),
        ("Number" if en else "Số/ký hiệu", s(env.code)),
        ("Type" if en else "Loại", s(env.doc_type)),
        ("Subject" if en else "Trích yếu", s(env.subject)),
        ("From" if en else "Nơi gửi", agency_label(names, env.sender, with_code=True)),
        ("To" if en else "Nơi nhận",
         "; ".join(agency_label(names, c, with_code=True) for c in env.recipients)),
        ("Urgency" if en else "Độ khẩn", urgency_label(env.urgency, lang)),
        ("Issued" if en else "Ngày ban hành", fmt_day(env.issue_date)),
        ("Due" if en else "Hạn xử lý", fmt_day(env.due_date)),
        ("State" if en else "Trạng thái", s(summary_state(doc, lang))),
    ]
    if business := business_label(doc, lang):
        fields.append(("edXML", business))
    lines = [line for label, value in fields for line in field_lines(label, value, width)]
    lines += ["", f"{'Attachments' if en else 'Tệp đính kèm'}:"]
    for a in env.attachments:
        lines += [f"  {line}" for line in wrap(f"{s(a.name)} ({fmt_size(a.size)})", width - 2)]
        lines.append(clip(f"    sha256 {s(a.sha256)}", width))
    if sig_lines := signature_lines(verdicts or [], lang):
        lines += ["", f"{'Digital signatures' if en else 'Chữ ký số'}:"]
        lines += [f"  {line}" for line in sig_lines]
    if doc.deliveries:
        lines += ["", f"{'Deliveries' if en else 'Tình trạng từng nơi nhận'}:"]
        recall = " (recall pending)" if en else " (đang chờ thu hồi)"
        lines += [line for d in doc.deliveries for line in field_lines(
            f"  {agency_label(names, d.recipient)}",
            f"{state_label(d.state, lang)}{recall if d.recall_pending else ''}, "
            f"{fmt_time(d.updated_ms)}", width)]
    lines += ["", f"{'History' if en else 'Lịch sử'}:"]
    lines += [line for e in events for line in _event_line(e, names, lang, width)]
    return "\n".join(lines)


def candidate_lines(exc: AmbiguousId, lang: str, width: int) -> list[str]:
    """The documents an ambiguous prefix matched, one line each: full id, date, subject."""
    lines = fit([Column("", 36, 36), Column("", 10, 10), Column("", 1000, 10, flex=True)],
                [[s(c.id), fmt_day(c.issued), ("← " if c.direction == "in" else "→ ")
                  + s(c.subject)] for c in exc.candidates], width - 2, gap=2)[1:]
    more = ["…và các văn bản khác" if lang != "en" else "…and others"] if exc.more else []
    return [f"  {line}" for line in lines + more]
