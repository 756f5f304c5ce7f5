"""After a hub restore: which sent documents and statuses a box offers the hub again.

A restored hub has forgotten everything it took in after its backup, while each box remembers
what the hub confirmed (``at_hub``, ``delivered``, the recipients' statuses) and would never
offer it again. The hub's epoch changes at every restore; a box that sees a new one offers
again whatever the hub may have lost. Offering again is harmless when the hub kept it (an
envelope is accepted again without being routed twice, a status id is stored once), so the rule
errs towards offering, bounded only by time: a restore loses at most what arrived since the
backup it used, and backups are nightly and kept for days, so nothing the hub confirmed more
than :data:`WINDOW_MS` before the new epoch can be lost. Finality is no bound: the hub is also
the province's archive, its KPI source and what a replaced box is restored from, so a document
the recipient finished yesterday is offered again too.

A document is offered again when its queue state is

- ``accepted``: the hub took the envelope, perhaps not its attachments; always;
- ``done``: the hub confirmed it complete; when the hub's newest word on it (its deliveries'
  times, which come from the hub's clock) is within the window;

never when ``pending`` (it is offered anyway) or ``dead`` (the hub refused it, or the box gave
up: a person decides). A status the box sent is sent again when the hub confirmed it within the
window. Pure: the box's store applies it (:mod:`gateway.store.reoffer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.model.delivery import RANK, State

# Longer than any backup a province keeps (nightly, seven kept by default) is old.
WINDOW_DAYS = 31
WINDOW_MS = WINDOW_DAYS * 24 * 3600_000


@dataclass(frozen=True)
class SentDoc:
    """What the rule needs to know of one sent document."""

    queue_state: str  # the outbound row: pending, accepted, done or dead
    states: tuple[State, ...]  # one per recipient
    last_hub_ms: int  # the newest time among its deliveries (the hub's clock)


def epoch_changed(remembered: str, seen: str) -> bool:
    """Whether a reply's epoch says the hub was restored: a reply without one says nothing,
    and the first one a box ever sees is only remembered."""
    return bool(remembered) and bool(seen) and remembered != seen


def within(hub_ms: int, now_hub_ms: int, window_ms: int = WINDOW_MS) -> bool:
    """Whether the hub confirmed something at ``hub_ms`` recently enough to have lost it."""
    return now_hub_ms - hub_ms <= window_ms


def offer_again(doc: SentDoc, now_hub_ms: int, window_ms: int = WINDOW_MS) -> bool:
    """Whether a hub restored at ``now_hub_ms`` (its clock) may have lost this document."""
    if doc.queue_state == "accepted":
        return True
    return doc.queue_state == "done" and within(doc.last_hub_ms, now_hub_ms, window_ms)


def resending(queue_state: str | None, states: Sequence[State]) -> bool:
    """Whether a sent document is being offered again after a restore, as the clerk should
    see it: back in the queue though the hub had confirmed it (a first send is still
    ``queued`` or ``uploading`` while it is in the queue)."""
    return queue_state in ("pending", "accepted") and bool(states) and all(
        s.final or RANK.get(s, 0) >= RANK[State.AT_HUB] for s in states)
