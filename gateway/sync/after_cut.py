"""After a cut, an upload goes on with a blob whose offset the box knows, instead of idling a
round trip for the hub to say how much of the cut one it holds.

Which frames of a cut request reached the hub is known only once the hub says so (a sync reply
asked after the cut, or a ``HEAD``): about a second of the link was in buffers. So the sync
loop's reconnect used to come first and the upload after it, on the same connection: per cut a
TLS round trip, then the sync's round trip, then the first frame (on 3G, 0.4 s of idle uplink
in every ~1.1 s a cut cost). A blob that was never in a cut request has no such doubt: the
hub holds what its last answer said. While one as urgent as every cut blob is ready, the
uploader itself reconnects with it (its ``PATCH`` probes the down link every
:data:`gateway.sync.reconnect.PROBE_S`, as the sync loop would) and the cut blobs wait for the
next sync reply, which says what the hub holds of each; a request never goes on into a cut
blob before that (:func:`gateway.sync.chain.chain_next`). Still one connection per cut.

The cut blobs wait at most until the next sync reply: the uploader goes alone only while the
last sync is younger than :data:`FRESH_WINDOW_S`, so on a link that cuts every ~20 s every
second or third reconnect is the sync loop's again (receipts, news, the clerk's "connected"),
before the quiet sync a minute after the last one would open a connection of its own. A link
down for longer than :data:`ALONE_S` is an outage: the sync loop probes it and the clerk sees
it. With several cut blobs to resume, one sync asks about them all instead of a ``HEAD`` each.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from gateway.protocol.wire import BlobNeed
from gateway.sync.link import HubUnavailable
from gateway.sync.reconnect import Reconnect
from gateway.sync.transfers import CUT_LINK_KINDS

if TYPE_CHECKING:
    from gateway.sync.uploads import Uploader

ALONE_S = 10.0  # the uploader probes alone this long; past it the outage is the sync loop's
FRESH_WINDOW_S = 40.0  # ... and only while the last sync is younger than this
REFUSED = "unreachable"  # failure_kind() of a connection that was never made: nothing was sent


def goes_alone(up: Uploader, need: BlobNeed, exc: HubUnavailable, backoff: Reconnect) -> bool:
    """Whether the worker that ``exc`` failed on ``need`` reconnects by itself, with a blob
    whose offset it knows, rather than wait for the sync loop's reconnect: a link that cut a
    quiet box's upload (or refuses) moments ago, a sync not long ago, such a blob ready."""
    c = up.client
    now = c.seconds()
    others = set(up.workers.active) - {need.sha256}  # running: not waiting
    return (c.hub.upload_chain and bool(c.news_seen) and c.stats.online and not c.polling
            and exc.kind in CUT_LINK_KINDS
            and (backoff.down_since is None or now - backoff.down_since < ALONE_S)
            and now - c.stats.last_sync_ms / 1000 < FRESH_WINDOW_S
            and known_waits(up.waiting_needs(), others, up.unsure))


def first_known(ready: Sequence[str], needs: Mapping[str, BlobNeed],
                unsure: Collection[str]) -> BlobNeed | None:
    """The queue's first ready blob, unless it is cut and to be asked about: then the first
    after it that is as urgent and is not (the queue orders by urgency first)."""
    if not ready:
        return None
    first = needs[ready[0]]
    if first.sha256 not in unsure:
        return first
    for sha in ready[1:]:
        need = needs[sha]
        if need.urgency < first.urgency:
            break
        if sha not in unsure:
            return need
    return first


def known_waits(needs: Iterable[BlobNeed], skip: Collection[str],
                unsure: Collection[str]) -> bool:
    """Among ``needs`` not in ``skip`` (running ones), a blob whose offset is known waits, as
    urgent as every cut one that waits."""
    waiting = [n for n in needs if n.sha256 not in skip]
    known = [n.urgency for n in waiting if n.sha256 not in unsure]
    cut = [n.urgency for n in waiting if n.sha256 in unsure]
    return bool(known) and max(known) >= max(cut, default=-1)


def cut_blobs(needs: Iterable[BlobNeed], unsure: Collection[str]) -> int:
    """How many of the needs are cut and to be asked about."""
    return sum(n.sha256 in unsure for n in needs)
