"""Blob transfers: two workers per direction keep the link busy across round trips, and the
most urgent bytes always go first.

With one request at a time, every small document costs an idle round trip (up to a second on
3G); a second worker fills that gap, unless the hub takes chained uploads: then one request
goes on from blob to blob (:mod:`gateway.sync.chain`) and a second bulk upload never starts
beside it. Neither worker starts something less urgent than what is
already moving, so a Hỏa tốc document never shares the link with bulk; a third upload worker
only ever starts an upload more urgent than all that run, so it need not wait for a bulk
request to end (up to a frame and a round trip) before it starts. This module holds the
rules both directions share; uploads are :mod:`gateway.sync.uploads`, downloads
:mod:`gateway.sync.downloads`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway.queue import Backoff
from gateway.sync.link import HubUnavailable
from gateway.sync.reconnect import Reconnect

if TYPE_CHECKING:
    from gateway.sync.client import SyncClient

WORKERS = 2
URGENT_LANES = 1  # upload workers beyond WORKERS, that only start what outranks the rest
IDLE_S = 5.0  # an idle worker looks again this often even if nothing told it to
REQUEST_BUDGET_S = 30.0  # after this long an upload ends, so priorities are re-read
DOWNLOAD_SLICE_S = 8.0  # link time per download request: the granularity of inbound priority
# Past the fast probing (gateway.sync.reconnect), transfers still retry sooner than the sync
# loop (which backs off to 5 minutes): every second waited past a link's return is unused.
TRANSFER_BACKOFF_CAP_S = 4.0
FOLLOW_S = 2.0  # a worker waits at least this long for the probing sync loop to get through
# ... and this long when it told the sync loop itself (it then surely syncs, and probes while
# the link is down): a worker that tried on its own when a 2 s blackout ended would race the
# probe, and open a connection of its own, with a HEAD.
TOLD_S = 10.0
# failure_kind() names of a broken or refused connection: the sync loop's own sync finds out
# whether the link is back; a busy or failing hub is backed off from by each worker instead.
CUT_LINK_KINDS = frozenset({"dropped", "unreachable", "network", "timeout"})


def link_backoff(client: SyncClient) -> Reconnect:
    """A worker's waits while the link is down (per worker, not per document)."""
    return Reconnect(Backoff(base_s=0.5, cap_s=TRANSFER_BACKOFF_CAP_S, rng=client.rng),
                     client.seconds)


async def link_wait(client: SyncClient, backoff: Reconnect, exc: HubUnavailable) -> None:
    """A worker's wait after the link failed it. While the sync loop is offline it probes for
    everyone (:mod:`gateway.sync.reconnect`): the worker waits its growing backoff, or until
    that loop's next reply, whose needs give every upload's offset (no HEAD) and whose
    connection the first upload takes over (no new handshake, see ``SyncClient``)."""
    back = client.reconnected.next()
    if client.stats.online and not client.polling and exc.kind in CUT_LINK_KINDS:
        # No long-poll met this cut (none is open: gateway/sync/quiet.py). The sync loop is
        # told, and it syncs (and probes while the link is down) for every worker, as if its
        # long-poll had been cut; its woken flag is its own, not this worker's.
        client.link_failed()
        await client.pause(max(backoff.failed(exc, probe=False), TOLD_S), back)
        return
    # A long-poll in flight meets the same cut at the same moment: the sync loop will probe.
    alone = client.stats.online and not client.polling
    wait = backoff.failed(exc, probe=alone)
    await client.pause(wait if alone else max(wait, FOLLOW_S), client.woken, back)


def recovered(client: SyncClient, backoff: Reconnect) -> None:
    if backoff.failures and not client.stats.online:
        client.wake()  # the link is back: the sync loop need not sit out its own backoff
    backoff.succeeded()


class Signal:
    """Wakes every waiter once per change, without anyone having to clear a flag."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def next(self) -> asyncio.Event:
        """The event the next :meth:`fire` sets."""
        return self._event


class Workers:
    """Which transfers are running, and the rule that keeps urgent ones undiluted."""

    def __init__(self) -> None:
        self.active: dict[str, int] = {}  # blob digest -> urgency
        self.changed = Signal()

    def may_start(self, urgency: int) -> bool:
        """At most :data:`WORKERS` transfers at the top urgency; one more urgent than all that
        run always starts (uploads keep a worker free for it, so a Hỏa tốc document does not
        wait for a bulk request to end; the bulk steps aside meanwhile)."""
        if not self.active:
            return True
        top = max(self.active.values())
        return urgency > top or (urgency == top and len(self.active) < WORKERS)

    def start(self, sha256: str, urgency: int) -> None:
        self.active[sha256] = urgency

    def finish(self, sha256: str) -> None:
        self.active.pop(sha256, None)
        self.changed.fire()
