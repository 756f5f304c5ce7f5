"""Words for a document's state that both front ends show, in the language they pass.

Pure: no I/O, no printing. Remote text inside a label (the hub's refusal reason) is already
passed through :func:`~gateway.model.safe_text.safe_text`, so a label is safe to show as is.
"""

from __future__ import annotations

from gateway.edxml.mapping import K_ID, K_KIND, K_REF
from gateway.model import State
from gateway.model.safe_text import safe_text
from gateway.store.local import Doc

_RANK = {s: i for i, s in enumerate(State)}


def state_label(state: State, lang: str) -> str:
    return state.label_en if lang == "en" else state.label_vi


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
    if len(states) == 1:
        return label
    return f"{label} {sum(1 for s in states if s == slowest)}/{len(states)}"


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
