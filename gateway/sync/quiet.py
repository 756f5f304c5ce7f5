"""One connection while uploads run on a link that cuts: no long-poll beside them.

Every cut resets every connection, so a box that long-polls while it uploads opens two per cut
(the upload resumes on the probing sync's connection, the long-poll needs another). After a
cut, and until the link has been steady for :func:`unsteady_s`, the sync loop therefore opens
no long-poll while uploads are running or waiting (:meth:`SyncClient.quiet_s`). News for the
box is still noticed: every upload reply carries the hub's inbox mark (``X-Sync-News``,
docs/protocol.md §3), and a mark other than the last sync reply's wakes the sync loop. An
upload request lasts at most ``REQUEST_BUDGET_S`` (30 s), and a reconnect after a cut syncs
unless the last sync is recent (:mod:`gateway.sync.after_cut`), so a document routed to the box
waits at most that long, plus a round trip, before the box asks for it; on a link that cuts
every ~20 s, until the next reconnect that syncs (about 40 s after the last sync at most).
A cut that breaks an upload while no long-poll is open is reported to the sync loop
(:func:`gateway.sync.transfers.link_wait`), which syncs and, while the link is down, probes
for every worker as it does when its long-poll is cut: the upload resumes from that reply's
offsets on its connection, with no HEAD; unless a blob whose offset is known can go first, and
the uploader reconnects with it itself (:mod:`gateway.sync.after_cut`).

The trade-off: a document *to* an uploading box on a cutting link waits up to 30 s (it was
answered at once by the long-poll). Requests were once bounded to 15 s meanwhile; each end
costs a round trip of idle uplink (0.4 s on 3G), which on the 3g-bad bench was ~0.8 % of the
time for news that the next reconnect brings anyway. Receipts of the box's own documents
(``at_hub``, ``delivered``) wait for the next sync it makes anyway (a cut's reconnect, a
document queued, the end of the uploads, the link turning steady, or :data:`QUIET_SYNC_S` after
the last one): they are not worth a connection each.
Documents the box sends, and a Hỏa tốc one above all, are not delayed: a clerk's document
syncs at once as before. A hub without ``X-Sync-News`` gets the long-poll as before.

What is kept for a hub without chained uploads: the second upload worker still overlaps the
end of each blob on a connection of its own (:mod:`gateway.sync.transfers`), so where cuts fall
between blob boundaries a cut costs two connections, not one. aiohttp hands a connection back
to its pool only once the response is read, so the next blob cannot start on the same
connection before the round trip at the end of the previous one; without the overlap that round
trip idles the uplink at every blob boundary. Measured on 3g-bad (quick bench, same run, 2-3
cuts): dropping the overlap while quiet took the small-document corpus from about 2.2 to 1.3
connections per cut, but added ~6-7 s of idle uplink to a 1 MiB, 14-document run (+0.15 of the
time ratio). A hub that takes chains (``X-Upload-Chain``, docs/protocol.md §4) closes this: a
request carries on into the next blob after a chain frame (:mod:`gateway.sync.chain`), so there
is neither a round trip at a blob's end nor a second request to hide it, and a cut costs one
connection.
"""

from __future__ import annotations

from gateway.protocol.pacing import CutWatch

STEADY_S = 30.0  # a link that has not cut for this long is steady again ...
STEADY_GAPS = 2.0  # ... or for this many of its averaged times between cuts, if longer
# A quiet box still syncs (without waiting) this long after its last sync: the clerk's link
# indicator calls a box without a sync for 90 s stale (gateway/services/link.py), and the
# receipts of its documents wait no longer than this.
QUIET_SYNC_S = 60.0


def unsteady_s(cuts: CutWatch, now_s: float) -> float:
    """Seconds until the link counts as steady again; 0 when it is, or never cut."""
    if cuts.gap_s is None:
        return 0.0
    window = max(STEADY_S, STEADY_GAPS * cuts.gap_s)
    return max(0.0, cuts.last_s + window - now_s)
