"""Words for a document's state that both front ends show, in the language they pass.

Pure: no I/O, no printing. Remote text inside a label (the hub's refusal reason) is already
passed through :func:`~gateway.model.safe_text.safe_text`, so a label is safe to show as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from gateway.edxml.mapping import K_ID, K_KIND, K_REF
from gateway.model import Agency, State, Urgency
from gateway.model.reoffer import resending
from gateway.model.safe_text import safe_text
from gateway.store.local import Doc, EventRow
from gateway.store.withdraw import STATUS, WITHDRAWN

_RANK = {s: i for i, s in enumerate(State)}


def state_label(state: State, lang: str) -> str:
    return state.label_en if lang == "en" else state.label_vi


def urgency_label(urgency: Urgency, lang: str) -> str:
    return urgency.label_en if lang == "en" else urgency.label_vi


def agency_label(directory: Mapping[str, Agency], code: str, *, with_code: bool = False) -> str:
    """An agency's name from the directory (the code when it is not listed), made safe."""
    agency = directory.get(code)
    if agency is None:
        return safe_text(code)
    return safe_text(f"{agency.name} ({code})" if with_code else agency.name)


_ACTORS = {"clerk": ("Văn thư", "Clerk"), "hub": ("Máy chủ tỉnh", "Province hub")}


def actor_label(actor: str, directory: Mapping[str, Agency], lang: str) -> str:
    """Who wrote an event: the clerk, the hub, or an agency by name."""
    words = _ACTORS.get(actor)
    if words is not None:
        return words[1] if lang == "en" else words[0]
    return agency_label(directory, actor)


_EVENTS = {
    "queued": ("Xếp hàng chờ gửi", "Queued for sending"),
    "accepted": ("Tỉnh đã nhận", "Accepted by the hub"),
    "refused": ("Tỉnh từ chối", "Refused by the hub"),
    "received": ("Văn bản đến máy", "Arrived on this box"),
    "retry": ("Gửi lại", "Resent"),
    "13": ("Yêu cầu thu hồi", "Recall requested"),
    "15": ("Đồng ý thu hồi", "Recall agreed"),
    "16": ("Từ chối thu hồi", "Recall refused"),
    "queue.gave_up": ("Gửi lỗi, đã dừng thử lại", "Sending failed, no more retries"),
    "blob.damaged_local": ("Tệp đính kèm trên máy bị hỏng", "Stored attachment damaged"),
    "reoffered": ("Gửi lại: máy chủ tỉnh được khôi phục từ bản sao lưu",
                  "Offered again: the hub was restored from a backup"),
}
_STATES = {s.value: s for s in State}
# The clerk set a status, or took one back (undo) before it left.
_STATUS_EVENTS = {STATUS: ("Ghi trạng thái", "Status set"),
                  WITHDRAWN: ("Hoàn tác trạng thái", "Status undone")}


def event_label(event: EventRow, lang: str) -> str:
    """Plain words for an event-log kind (``queued``, ``status 03``, ``withdrawn 03`` when the
    clerk undid a status, a receipt such as ``at_hub`` or ``01``); a kind this version does not
    know is shown as written, made safe."""
    kind = event.kind
    for prefix, (vi, en) in _STATUS_EVENTS.items():
        if kind.startswith(prefix) and (state := _STATES.get(kind[len(prefix):])) is not None:
            return f"{en if lang == 'en' else vi}: {state_label(state, lang)}"
    if (words := _EVENTS.get(kind)) is not None:
        return words[1] if lang == "en" else words[0]
    if (state := _STATES.get(kind)) is not None:
        return state_label(state, lang)
    return safe_text(kind)


def summary_state(doc: Doc, lang: str) -> str:
    """One phrase a clerk understands: where the document is right now."""
    if doc.direction == "in":
        return state_label(doc.inbox_status or State.RECEIVED, lang)
    if doc.queue_state == "dead":
        return ("Failed: " if lang == "en" else "Gửi lỗi: ") + safe_text(doc.last_error)
    states = [d.state for d in doc.deliveries]
    if not states:
        return ""
    slowest = min(states, key=lambda s: (not s.final, _RANK.get(s, 99)))
    label = state_label(slowest, lang)
    if resending(doc.queue_state, states):  # back in the queue after a hub restore
        label = ("Resending · " if lang == "en" else "Đang gửi lại · ") + label
    if len(states) == 1:
        return label
    return f"{label} {sum(1 for s in states if s == slowest)}/{len(states)}"


def overdue_label(state: str, lang: str) -> str:
    """A state with the overdue mark both front ends put in front of it."""
    return f"Overdue · {state}" if lang == "en" else f"Quá hạn · {state}"


_BUSINESS = {"1": ("Thu hồi văn bản", "Revokes document"),
             "2": ("Cập nhật văn bản", "Updates document"),
             "3": ("Thay thế văn bản", "Replaces document")}


def business_label(doc: Doc, lang: str) -> str | None:
    """What an edXML revoke, update or replace does, naming the document it acts on."""
    extra = doc.envelope.extra
    words = _BUSINESS.get(extra.get(K_KIND, "0"))
    if words is None:
        return None
    ref = extra.get(K_REF) or extra.get(K_ID, "")
    return f"{words[1] if lang == 'en' else words[0]} {safe_text(ref)}"


def fmt_day(day: date | None) -> str:
    """A calendar day as Vietnamese offices write it (31/12/2026); "—" for none."""
    return day.strftime("%d/%m/%Y") if day else "—"


def fmt_time(ms: int) -> str:
    """The box's local wall time, day first."""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%d/%m/%Y %H:%M")


def fmt_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 2**20:
        return f"{size / 1024:.1f} KB"
    return f"{size / 2**20:.1f} MB"
