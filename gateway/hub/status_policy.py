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

from gateway.model.delivery import Party, may_send
from gateway.protocol.limits import (
    MAX_STATUSES_PER_DOC,
    MAX_STATUSES_PER_WINDOW,
    STATUS_WINDOW_S,
)
from gateway.protocol.wire import StatusMsg
from gateway.store.db import Conn

# Refusal reasons (metric label values).
NOT_A_PARTY = "status_not_a_party"
FORBIDDEN = "status_code_forbidden"
UNROUTED = "status_sender_unrouted"
DOC_LIMIT = "status_document_limit"


@dataclass(frozen=True)
class StatusOutcome:
    touched: frozenset[str]  # senders whose receipts changed
    refused: tuple[str, ...]  # one reason per refused item
    stored: int = 0  # new statuses (replays are neither stored nor refused)


async def store_statuses(conn: Conn, agency: str, items: Sequence[StatusMsg],
                         now: int) -> StatusOutcome:
    """Stores each allowed status once (by ``(agency, sid)``) and makes its receipt."""
    touched: set[str] = set()
    refused: list[str] = []
    stored = 0
    for s in items:
        row = await (await conn.execute(
            "SELECT d.sender, EXISTS(SELECT 1 FROM inbox i WHERE i.doc_id = d.id"
            " AND i.recipient = ?) FROM documents d WHERE d.id = ?", (agency, s.doc))).fetchone()
        sender = "" if row is None else str(row[0])
        party = None if row is None else _party(agency, sender, bool(row[1]))
        if party is None:
            refused.append(NOT_A_PARTY)  # unknown, or someone else's document
            continue
        if not may_send(party, s.code):
            refused.append(FORBIDDEN)
            continue
        if party is Party.SENDER:
            # A recall is the sender's to make, but this hub carries statuses to senders
            # only; a recall has no route to the recipients yet, so it is not stored.
            refused.append(UNROUTED)
            continue
        seen = await (await conn.execute(
            "SELECT 1 FROM statuses WHERE agency = ? AND sid = ?", (agency, s.sid))).fetchone()
        if seen is not None:
            continue  # a replay after a lost reply: already stored, nothing to say
        count = await (await conn.execute(
            "SELECT count(*) FROM statuses WHERE doc_id = ? AND agency = ?",
            (s.doc, agency))).fetchone()
        if count is not None and int(count[0]) >= MAX_STATUSES_PER_DOC:
            refused.append(DOC_LIMIT)
            continue
        await conn.execute(
            "INSERT INTO statuses(agency, sid, doc_id, code, at_ms) VALUES (?,?,?,?,?)",
            (agency, s.sid, s.doc, s.code, now))
        await conn.execute(
            "INSERT INTO receipts(sender, doc_id, recipient, event, at_ms, note)"
            " VALUES (?,?,?,?,?,?)", (sender, s.doc, agency, s.code, now, s.note))
        touched.add(sender)
        stored += 1
    return StatusOutcome(frozenset(touched), tuple(refused), stored)


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
