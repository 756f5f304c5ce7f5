"""Which statuses the hub stores: who may send which code, and how many.

A status becomes a receipt on the sender's box, so a status is a write into someone else's
database. Three rules bound that: the party rule of the model (only the issuer recalls, only
a recipient reports handling; :func:`gateway.model.delivery.may_send`), a cap per document and
agency for ever, and a cap per agency per time window (:class:`StatusRate`, answered 429 for
the whole request so the box keeps its statuses and retries later: nothing is lost).
Refusals are item by item inside a 200 reply, like every other content refusal, and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from gateway.model.delivery import Party, may_send
from gateway.protocol.limits import (
    MAX_STATUSES_PER_DOC,
    MAX_STATUSES_PER_WINDOW,
    STATUS_WINDOW_S,
)
from gateway.protocol.wire import StatusMsg
from gateway.store.hub.documents import HubStore
from gateway.store.hub.statuses import NOT_A_PARTY, DocParties, StatusOutcome

# Refusal reasons (metric label values); the store adds its own two: NOT_A_PARTY for an
# unknown document and DOC_LIMIT for the per-document cap (gateway/store/hub/statuses.py).
FORBIDDEN = "status_code_forbidden"
UNROUTED = "status_sender_unrouted"


async def store_statuses(store: HubStore, agency: str,
                         items: Sequence[StatusMsg]) -> StatusOutcome:
    """Stores each allowed status once (by ``(agency, sid)``) and makes its receipt."""
    return await store.statuses.record(agency, items, store.clock(), partial(_judge, agency),
                                       MAX_STATUSES_PER_DOC)


def _judge(agency: str, status: StatusMsg, doc: DocParties) -> str | None:
    """Why ``agency`` may not send ``status`` about ``doc``, or None if it may."""
    party = _party(agency, doc.sender, doc.addressed)
    if party is None:
        return NOT_A_PARTY  # someone else's document
    if not may_send(party, status.code):
        return FORBIDDEN
    if party is Party.SENDER:
        # A recall is the sender's to make, but this hub carries statuses to senders
        # only; a recall has no route to the recipients yet, so it is not stored.
        return UNROUTED
    return None


def _party(agency: str, sender: str, addressed: bool) -> Party | None:
    if addressed:
        return Party.RECIPIENT
    return Party.SENDER if sender == agency else None


@dataclass
class StatusRate:
    """Statuses each agency stored in the current fixed window, by the hub's clock."""

    limit: int = MAX_STATUSES_PER_WINDOW
    window_ms: int = STATUS_WINDOW_S * 1000
    windows: dict[str, tuple[int, int]] = field(default_factory=dict)  # agency: (start, used)

    def retry_after_s(self, agency: str, wanted: int, now: int) -> int:
        """0 if ``wanted`` more statuses fit this window, else seconds until the next one."""
        start, used = self._current(agency, now)
        if used + wanted <= self.limit:
            return 0
        return max(1, (start + self.window_ms - now + 999) // 1000)

    def spend(self, agency: str, stored: int, now: int) -> None:
        if stored:
            start, used = self._current(agency, now)
            self.windows[agency] = (start, used + stored)

    def _current(self, agency: str, now: int) -> tuple[int, int]:
        start, used = self.windows.get(agency, (now, 0))
        if not start <= now < start + self.window_ms:
            start, used = now, 0
        return start, used
