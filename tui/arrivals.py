"""New-arrival notices (pure, no Textual): which incoming documents the clerk has not been told
about yet, once each, whatever screen is showing.

Only documents this box received count: the clerk's own outgoing ones and status changes
never make a notice. Documents already there when the screen starts are not announced (the
inbox shows them, bold while unread).
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.model import Urgency
from gateway.model.safe_text import safe_text
from gateway.store.local import Doc
from tui.format import clip
from tui.i18n import t


class Arrivals:
    def __init__(self) -> None:
        self.seen: set[str] | None = None  # ids already announced; None before the first look

    def new(self, docs: Iterable[Doc]) -> list[Doc]:
        """The incoming documents not announced before, most urgent first, then newest."""
        inbox = [d for d in docs if d.direction == "in"]
        first = self.seen is None
        seen = self.seen if self.seen is not None else set()
        fresh = [] if first else [d for d in inbox if d.envelope.id not in seen]
        self.seen = seen | {d.envelope.id for d in inbox}
        return sorted(fresh, key=lambda d: (-int(d.envelope.urgency), -d.stored_ms))


def notice(new: list[Doc]) -> tuple[str, bool]:
    """The words of a notice naming the first three, and whether any is urgent (Khẩn or more)."""
    subjects = "; ".join(clip(d.envelope.subject, 40) for d in new[:3])
    urgent = any(d.envelope.urgency >= Urgency.KHAN for d in new)
    return safe_text(t("triage.new", n=len(new), subjects=subjects)), urgent
