"""The facts behind the provincial KPIs, per agency, over a period ``[from_ms, to_ms)`` of the
hub's clock.

Every time is one the hub recorded on its own clock: a document is *issued* when the hub
routed it (every attachment verified), it *arrives* when the recipient's box acknowledged it
(stored), and a status counts from when the hub stored it. A box's own clock is never used.
What the numbers mean (averages, shares, wording) is the hub's business
(:mod:`gateway.hub.kpi`); these are sums and counts, so totals add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model.document import VN_TZ
from gateway.store.db import Conn, Database

DAY_MS = 86_400_000
_ZONE_S = int(VN_TZ.utcoffset(None).total_seconds())

# Per issuing agency: documents the hub routed in the period.
_ISSUED = ("SELECT sender, count(*) FROM documents WHERE complete_ms >= ? AND complete_ms < ?"
           " GROUP BY sender")

# Per receiving agency: documents that arrived in the period, and of those how many it has
# marked 03 / 06 so far and the summed time from arrival to its first 03 / 06 (a status the
# hub stored before the ack, after a cut, counts as no time at all).
_ARRIVED = (
    "SELECT recipient, count(*), count(t3), coalesce(sum(max(t3 - acked_ms, 0)), 0),"
    " count(t6), coalesce(sum(max(t6 - acked_ms, 0)), 0) FROM (SELECT i.recipient, i.acked_ms,"
    " (SELECT min(s.at_ms) FROM statuses s WHERE s.doc_id = i.doc_id"
    " AND s.agency = i.recipient AND s.code = '03') AS t3,"
    " (SELECT min(s.at_ms) FROM statuses s WHERE s.doc_id = i.doc_id"
    " AND s.agency = i.recipient AND s.code = '06') AS t6"
    " FROM inbox i WHERE i.acked_ms >= ? AND i.acked_ms < ?) GROUP BY recipient")

# Per receiving agency: documents routed to it whose due date (a Vietnamese calendar day)
# begins in the period and had ended by ``now`` without its 06 (finished late counts too).
_OVERDUE = (
    "SELECT recipient, count(*) FROM (SELECT i.recipient, i.doc_id,"
    " (CAST(strftime('%s', json_extract(d.envelope, '$.due')) AS INTEGER) - ?) * 1000 AS due_ms"
    " FROM inbox i JOIN documents d ON d.id = i.doc_id"
    " WHERE json_extract(d.envelope, '$.due') IS NOT NULL) x"
    " WHERE x.due_ms >= ? AND x.due_ms < ? AND x.due_ms + ? <= ?"
    " AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.doc_id = x.doc_id"
    " AND s.agency = x.recipient AND s.code = '06' AND s.at_ms < x.due_ms + ?)"
    " GROUP BY recipient")


@dataclass(frozen=True)
class UnitFacts:
    """One agency's counts over the period (zero where it had nothing)."""

    agency: str
    issued: int = 0  # documents it issued that the hub routed
    arrived: int = 0  # documents its box acknowledged
    reached_03: int = 0  # of those arrived, marked 03 (Tiếp nhận) by it so far
    ms_to_03: int = 0  # summed time from arrival to its first 03
    reached_06: int = 0  # of those arrived, marked 06 (Hoàn thành) by it so far
    ms_to_06: int = 0
    overdue: int = 0  # due day began in the period, ended by now, no 06 before its end


@dataclass(frozen=True)
class PeriodFacts:
    units: dict[str, UnitFacts]
    signed: dict[str, int] | None  # by issuing agency; None: not known


_SIGNED = (
    "SELECT d.sender, count(*) FROM documents d WHERE d.complete_ms >= ? AND d.complete_ms < ?"
    " AND EXISTS (SELECT 1 FROM doc_blobs b JOIN signature_verdicts v ON v.sha256 = b.sha256"
    " WHERE b.doc_id = d.id AND b.pdf = 1 AND v.trusted = 1) GROUP BY d.sender")


async def signed_counts(conn: Conn, from_ms: int, to_ms: int) -> dict[str, int] | None:
    """By issuing agency: how many of the documents counted as issued in the period have at
    least one PDF attachment with a valid signature chaining to the hub's trust roots (the
    hub's verdicts, ``gateway/store/hub/verdicts.py``); a PDF not checked yet counts as
    unsigned until it is."""
    return {str(r[0]): int(r[1])
            for r in await conn.execute_fetchall(_SIGNED, (from_ms, to_ms))}


class KpiRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def period(self, from_ms: int, to_ms: int, now_ms: int) -> PeriodFacts:
        """Every agency with anything to count in ``[from_ms, to_ms)``, read in one snapshot."""

        async def read(conn: Conn) -> PeriodFacts:
            units: dict[str, dict[str, int]] = {}
            for r in await conn.execute_fetchall(_ISSUED, (from_ms, to_ms)):
                units.setdefault(str(r[0]), {})["issued"] = int(r[1])
            for r in await conn.execute_fetchall(_ARRIVED, (from_ms, to_ms)):
                units.setdefault(str(r[0]), {}).update(
                    arrived=int(r[1]), reached_03=int(r[2]), ms_to_03=int(r[3]),
                    reached_06=int(r[4]), ms_to_06=int(r[5]))
            for r in await conn.execute_fetchall(_OVERDUE, (
                    _ZONE_S, from_ms, to_ms, DAY_MS, now_ms, DAY_MS)):
                units.setdefault(str(r[0]), {})["overdue"] = int(r[1])
            return PeriodFacts({a: UnitFacts(a, **v) for a, v in units.items()},
                               await signed_counts(conn, from_ms, to_ms))

        return await self.db.read(read)
