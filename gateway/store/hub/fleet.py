"""What the hub knows about each gateway, read for the fleet view and the metrics.

The ``gateways`` rows are written by the heartbeats of :class:`gateway.store.hub.documents.
HubStore`; the inbox and documents tables tell how far each box is behind. These are plain
reads: what counts as offline, stalled or low on disk is the hub's judgement
(:mod:`gateway.hub.fleet`), made on the hub's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database


@dataclass(frozen=True)
class GatewayRecord:
    """The last heartbeat of one gateway, as the hub stored it."""

    agency: str
    last_seen_ms: int
    version: str
    skew_ms: int  # hub clock minus gateway clock
    queue: int
    disk_free: int
    blobs_bad: int
    last_error: str  # class and short text of the box's last sync failure, "" if none
    dead: int  # documents dead-lettered in its queue


@dataclass(frozen=True)
class Waiting:
    """Documents routed to one agency and not yet acknowledged by it."""

    count: int
    oldest_ms: int  # when the oldest of them was routed


@dataclass(frozen=True)
class DocumentCounts:
    complete: int  # every blob verified, routed
    incomplete: int  # accepted, blobs still to come


class FleetRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def gateways(self) -> list[GatewayRecord]:
        """Every gateway that ever sent a heartbeat, in no particular order."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT agency, last_seen_ms, version, skew_ms, queue, disk_free, blobs_bad,"
            " last_error, dead FROM gateways"))
        return [GatewayRecord(str(r[0]), int(r[1]), str(r[2]), int(r[3]), int(r[4]),
                              int(r[5]), int(r[6]), str(r[7]), int(r[8])) for r in rows]

    async def waiting(self) -> dict[str, Waiting]:
        """By recipient, for recipients with anything waiting."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT recipient, count(*), min(routed_ms) FROM inbox WHERE acked_ms IS NULL"
            " GROUP BY recipient"))
        return {str(r[0]): Waiting(int(r[1]), int(r[2])) for r in rows}

    async def last_acks(self) -> dict[str, int]:
        """By recipient: when it last acknowledged a document (its last visible progress)."""
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT recipient, max(acked_ms) FROM inbox WHERE acked_ms IS NOT NULL"
            " GROUP BY recipient"))
        return {str(r[0]): int(r[1]) for r in rows}

    async def document_counts(self) -> DocumentCounts:
        rows = await self.db.read(lambda c: c.execute_fetchall(
            "SELECT complete_ms IS NOT NULL, count(*) FROM documents GROUP BY 1"))
        by_state = {bool(r[0]): int(r[1]) for r in rows}
        return DocumentCounts(by_state.get(True, 0), by_state.get(False, 0))
