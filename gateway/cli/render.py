"""Plain-words rendering of documents for the terminal and stable JSON for scripts.

Every field of a document, its events and the hub's words came from another party: each is
passed through :func:`~gateway.model.safe_text.safe_text` before it reaches the terminal, and
JSON goes out through :func:`~gateway.model.safe_text.safe_json` (true data, inert text).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from gateway.model import State, envelope_to_dict, ui_language
from gateway.model.envelope_codec import Plain
from gateway.model.safe_text import safe_json
from gateway.model.safe_text import safe_text as s
from gateway.store.local import Doc, EventRow


def emit_json(value: object) -> None:
    sys.stdout.write(safe_json(value) + "\n")


def fmt_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _label(state: State) -> str:
    return state.label_en if ui_language() == "en" else state.label_vi


def summary_state(doc: Doc) -> str:
    """One phrase a clerk understands: where the document is right now."""
    en = ui_language() == "en"
    if doc.direction == "in":
        return _label(doc.inbox_status or State.RECEIVED)
    if doc.queue_state == "dead":
        return ("Failed: " if en else "Gửi lỗi: ") + s(doc.last_error)
    states = [d.state for d in doc.deliveries]
    if not states:
        return ""
    slowest = min(states, key=lambda s: (not s.final, _RANK.get(s, 99)))
    reached = sum(1 for s in states if s == slowest)
    return f"{_label(slowest)} {reached}/{len(states)}" if len(states) > 1 else _label(slowest)


_RANK = {s: i for i, s in enumerate(State)}


def doc_json(doc: Doc, events: list[EventRow] | None = None) -> dict[str, Plain]:
    out: dict[str, Plain] = {
        "id": doc.envelope.id,
        "direction": doc.direction,
        "envelope": envelope_to_dict(doc.envelope),
        "state": summary_state(doc),
        "queue": doc.queue_state,
        "last_error": doc.last_error,
        "inbox_status": doc.inbox_status.value if doc.inbox_status else None,
        "deliveries": [
            {"to": d.recipient, "state": d.state.value, "recall_pending": int(d.recall_pending),
             "updated_ms": d.updated_ms}
            for d in doc.deliveries
        ],
    }
    if events is not None:
        out["events"] = [
            {"at_ms": e.at_ms, "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in events
        ]
    return out


def doc_summary_line(doc: Doc) -> str:
    env = doc.envelope
    arrow = "→" if doc.direction == "out" else "←"
    peer = s(",".join(env.recipients) if doc.direction == "out" else env.sender)
    urgency = env.urgency.label_en if ui_language() == "en" else env.urgency.label_vi
    return (f"{s(env.id)}  {arrow} {peer[:40]:<40}  {s(env.code)[:24]:<24}  {urgency:<12}  "
            f"{s(env.subject)[:50]}  [{summary_state(doc)}]")


def doc_text(doc: Doc, events: list[EventRow]) -> str:
    env = doc.envelope
    en = ui_language() == "en"
    lines = [
        f"{'Document' if en else 'Văn bản'}: {s(env.id)}",
        f"{'Number' if en else 'Số/ký hiệu'}: {s(env.code)}",
        f"{'Type' if en else 'Loại'}: {s(env.doc_type)}",
        f"{'Subject' if en else 'Trích yếu'}: {s(env.subject)}",
        f"{'From' if en else 'Nơi gửi'}: {s(env.sender)}",
        f"{'To' if en else 'Nơi nhận'}: {s(', '.join(env.recipients))}",
        f"{'Urgency' if en else 'Độ khẩn'}: "
        f"{env.urgency.label_en if en else env.urgency.label_vi}",
        f"{'Issued' if en else 'Ngày ban hành'}: {env.issue_date.isoformat()}",
        f"{'Due' if en else 'Hạn xử lý'}: {env.due_date.isoformat() if env.due_date else '-'}",
        f"{'State' if en else 'Trạng thái'}: {summary_state(doc)}",
        "",
        f"{'Attachments' if en else 'Tệp đính kèm'}:",
    ]
    lines += [f"  {s(a.name)}  {a.size} B  sha256 {s(a.sha256)}" for a in env.attachments]
    if doc.deliveries:
        lines += ["", f"{'Deliveries' if en else 'Tình trạng từng nơi nhận'}:"]
        lines += [f"  {s(d.recipient)}  {_label(d.state)}  {fmt_ms(d.updated_ms)}"
                  + (" (recall pending)" if d.recall_pending else "") for d in doc.deliveries]
    lines += ["", f"{'History' if en else 'Lịch sử'}:"]
    lines += [f"  {fmt_ms(e.at_ms)}  {s(e.actor):<8} {s(e.kind)}  {s(e.detail)}" for e in events]
    return "\n".join(lines)
