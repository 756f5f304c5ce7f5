"""The gateway's sync engine: one loop talks, two workers upload, two download, all at once.

Uplink and downlink are separate on ADSL and 3G, so uploads and downloads run side by side
while the sync loop long-polls. A new local document wakes the sync loop at once; its reply
changes the upload needs, and the uploader ends its current request at the next frame boundary
when something more urgent is waiting. After a cut, while uploads run, the loop holds no
long-poll beside them, so a cut costs one connection, not two (:mod:`gateway.sync.quiet`).

A signature checker gives every stored PDF its verdict beside them (never in their way).
The loop and the workers run under one :class:`asyncio.TaskGroup`. Each handles the failures
it expects (the hub's errors, a full disk) itself; anything else ends :meth:`SyncClient.run`
with that exception, so the daemon exits and systemd restarts it instead of running half
alive. The hub, the clock, the random source and the way to sleep are injected, so that the
scheduling is tested against :class:`gateway.testbed.fake_hub.FakeHub` in virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway import __version__
from gateway.protocol.limits import MAX_LAST_ERROR
from gateway.protocol.seen import inbox_digest
from gateway.protocol.wire import BlobNeed, NodeReport, SyncReply, SyncRequest
from gateway.queue import Backoff, OutboundQueue
from gateway.signing.config import SigningConfig
from gateway.store.layout import DEFAULT_RESERVE_BYTES
from gateway.store.local import LocalStore
from gateway.store.syncstate import SyncState
from gateway.sync import quiet
from gateway.sync.downloads import Downloader
from gateway.sync.hub_epoch import HubEpoch
from gateway.sync.hub_trust import HubTrust
from gateway.sync.link import HubError, HubLink, HubRefused, HubUnavailable
from gateway.sync.reconnect import PROBE_S, Reconnect
from gateway.sync.signatures import SignatureChecker
from gateway.sync.transfers import URGENT_LANES, WORKERS, Signal
from gateway.sync.uploads import Uploader

log = logging.getLogger("gateway.sync")
Clock = Callable[[], int]
REPORT_FAILURE_MS = 24 * 3600_000  # the heartbeat reports a failure this long after it
Sleep = Callable[[float], Awaitable[None]]


# A hub that ignores X-Sync-Seen answers a long-poll at once while inbox items wait for their
# blobs: then the loop asks again this often, not in a hot loop (docs/protocol.md §3).
INBOX_RECHECK_S = 5.0
MAX_ORPHANS = 2  # long-polls left to end by themselves at once; an older one is cancelled
HANDOFF_S = 1.0  # how long the next sync waits for an upload to take the connection first


class _Stopping(Exception):
    """Raised inside the task group when the stop event fires, to end every task."""


@dataclass
class LinkStats:
    """What the clerk's indicator and the health endpoint show; plain counters."""

    online: bool = False
    last_sync_ms: int = 0
    last_error: str = ""
    last_failure: str = ""  # "Class: text" of the last failure; a good sync keeps it
    last_failure_ms: int = 0
    syncs: int = 0
    failures: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    blob_bytes_up: int = 0
    blob_bytes_down: int = 0
    frames_up: int = 0
    max_frame: int = 0
    docs_in: int = 0
    needs: list[BlobNeed] = field(default_factory=list)


class SyncClient:
    def __init__(self, store: LocalStore, hub: HubLink, *, clock: Clock,
                 rng: random.Random | None = None, sleep: Sleep = asyncio.sleep,
                 wait_s: int = 60, agency: str | None = None,
                 reserve_bytes: int = DEFAULT_RESERVE_BYTES,
                 signing: SigningConfig | None = None) -> None:
        self.store = store
        self.hub = hub
        self.clock = clock
        self.rng = rng or random.Random()
        self._sleep = sleep
        self.wait_s = wait_s
        self.reserve_bytes = reserve_bytes  # free disk that downloads leave untouched
        self.syncstate = SyncState(store, agency)
        self.queue = OutboundQueue(store, clock, self.rng)
        self.stats = LinkStats()
        self.started = time.monotonic()
        self.woken = asyncio.Event()  # set by wake(), cleared when a sync starts
        self.reconnected = Signal()  # a sync got through after an outage: workers go at once
        self._polled = False  # the last sync asked the hub to wait
        self.polling = False  # a long-poll is in flight: the hub itself ends it with news
        self._orphans: list[asyncio.Task[SyncReply]] = []  # long-polls we stopped waiting for
        self._inbox_seen = ""  # inbox_digest() of the last reply's inbox
        self.news_seen = ""  # the hub's inbox mark with the last sync reply ("" none: no quiet)
        self._news_heard = ""  # the last mark an upload reply woke the sync loop for
        self._cut_met = False  # a transfer met a cut that no long-poll met: sync, then go
        self.uploader = Uploader(self)
        self.downloader = Downloader(self)
        # ``signing`` None: signatures are not checked (a wrong section: the daemon logs why)
        self.signatures = SignatureChecker(store, signing, clock)
        self.hub_trust = HubTrust(store.layout)  # the roots the hub hands out
        self.hub_epoch = HubEpoch(store, self.wake)

    def wake(self) -> None:
        """Sync now: a document was queued or marked."""
        self.woken.set()

    def hub_has_news(self) -> None:
        """The hub has news for this box (a blob it verified routes a document): a long-poll
        in flight is answered with it by the hub itself, so only sync now if none is. While
        quiet, the receipts wait for the next sync (gateway/sync/quiet.py)."""
        if not self.polling and not self.quiet_s():
            self.wake()

    def upload_replied(self, news: str) -> None:
        """An upload reply's inbox mark: another than the last sync reply's means a document
        was routed to this box since; sync now unless a long-poll will bring it."""
        if news and self.news_seen and news not in (self.news_seen, self._news_heard) \
                and not self.polling:
            self._news_heard = news  # the other worker's reply with it: the same news
            self.wake()

    def link_failed(self) -> None:
        """A transfer met a cut while no long-poll was open to meet it too: sync now, and let
        the workers go once a sync gets through, as after an outage (offsets, no HEAD)."""
        self._cut_met = True
        self.wake()

    def quiet_s(self) -> float:
        """How long the box opens no long-poll (0: it may): while uploads run or wait on a
        link that cut recently (gateway/sync/quiet.py)."""
        if not self.news_seen or not self.uploader.busy():
            return 0.0
        return quiet.unsteady_s(self.uploader.cuts, self.seconds())

    def seconds(self) -> float:
        """The engine's clock in seconds (virtual in scheduling tests)."""
        return self.clock() / 1000

    async def run(self, stop: asyncio.Event) -> None:
        """Runs the sync loop and the workers until ``stop`` is set; raises what a task did
        not expect (the first, if several failed at once)."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._sync_loop(stop))
                for _ in range(WORKERS):
                    tasks.create_task(self.uploader.worker(stop))
                    tasks.create_task(self.downloader.worker(stop))
                for _ in range(URGENT_LANES):
                    tasks.create_task(self.uploader.worker(stop))
                tasks.create_task(self.signatures.worker(stop, self.pause))
                tasks.create_task(_raise_on(stop))
        except BaseExceptionGroup as group:
            failures = [e for e in group.exceptions if not isinstance(e, _Stopping)]
            if failures:
                raise failures[0] from None
        finally:
            for orphan in self._orphans:
                orphan.cancel()

    async def pause(self, seconds: float, *events: asyncio.Event) -> None:
        """Waits ``seconds`` on the injected sleep, or until one of ``events`` is set."""
        waiters = [asyncio.ensure_future(self._sleep(seconds)),
                   *(asyncio.ensure_future(e.wait()) for e in events)]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _sync_loop(self, stop: asyncio.Event) -> None:
        retry = Reconnect(Backoff(base_s=1.0, cap_s=300.0, rng=self.rng), self.seconds)
        while not stop.is_set():
            if self.stats.online and not self.woken.is_set() and (calm := self.quiet_s()):
                # No long-poll beside the uploads: an upload reply's mark or a wake brings the
                # next sync; the end of the uploads or a steady link, the long-poll.
                due = self.stats.last_sync_ms / 1000 + quiet.QUIET_SYNC_S - self.seconds()
                if due > 0:
                    await self.pause(min(calm, due), self.woken,
                                     self.uploader.workers.changed.next())
                    continue
                self.woken.set()  # a short sync now and then: the clerk sees "connected"
            try:
                asked, began = self._inbox_seen, self.seconds()
                reply = await self.sync_once()
                if reply is not None and ((retry.failures and self.uploader.waiting())
                                          or self.uploader.jumping_in()):
                    # Back after an outage (the reply gave every upload its offset), or a blob
                    # that outranks every running upload now waits (a clerk's Hỏa tốc
                    # document): the upload takes this sync's connection before the next sync
                    # or the long-poll does, so it starts without a new TCP and TLS handshake.
                    # An upload that ended before its body (a refusal) ends the wait too.
                    await self.pause(HANDOFF_S, self.uploader.requesting.next(),
                                     self.uploader.workers.changed.next())
                retry.succeeded()
                if reply is not None and reply.inbox and self._polled and not self.woken.is_set()\
                        and asked == self._inbox_seen and self.seconds() - began < self.wait_s / 2:
                    # Asked to wait while holding this very inbox, the hub answered at once: it
                    # does not read X-Sync-Seen. Asking again at once would be a hot loop.
                    await self.pause(min(self.wait_s, INBOX_RECHECK_S), self.woken)
            except HubUnavailable as exc:
                await self._offline(exc, retry.failed(exc))
            except HubRefused as exc:
                log.warning("hub refused sync: %s", exc)
                await self._offline(exc, max(60.0, retry.failed(exc)))

    async def _offline(self, exc: HubError, delay_s: float) -> None:
        """Publishes the failure and the time of the next try, then waits for it (or a wake:
        a clerk's "try now", a new document)."""
        reason = str(exc)[:300]
        began = self.stats.online or not self.stats.last_error
        changed = reason != self.stats.last_error
        self.stats.last_failure = f"{type(exc).__name__}: {exc}"[:MAX_LAST_ERROR]
        self.stats.last_failure_ms = self.clock()
        self.stats.online = False
        self.stats.failures += 1
        self.stats.last_error = reason
        if began or changed or delay_s > PROBE_S:  # probing a refusing link: no SD write each
            await self.syncstate.record_failure(reason, exc.kind,
                                                self.clock() + int(delay_s * 1000),
                                                began=began, changed=changed)
        await self.pause(delay_s, self.woken)

    async def sync_once(self) -> SyncReply | None:
        woken = self.woken.is_set()
        self.woken.clear()  # before reading: a wake while reading is for the next sync
        cut_met, self._cut_met = self._cut_met, False
        out = await self.syncstate.outgoing(self.clock())
        news = bool(out.envelopes or out.acks or out.statuses)
        # The first exchange after a start or an outage is answered at once, so the link
        # state the clerk sees turns to "connected" without waiting out a long poll.
        wait = 0 if news or woken or not self.stats.online else self.wait_s
        if wait and out.held_until_ms is not None:  # a clerk's status leaves when its hold ends
            wait = max(1, min(wait, -(-(out.held_until_ms - self.clock()) // 1000)))
        self._polled = wait > 0
        req = SyncRequest(node=await self._node(), out=out.envelopes, acks=out.acks,
                          statuses=out.statuses, rcursor=out.rcursor, wait=wait)
        asked_at = time.monotonic()
        reply = await self._exchange(req)
        if reply is None:
            return None
        self._inbox_seen = inbox_digest(reply.inbox)
        self.news_seen = self.hub.news
        # Skew against the clock when the reply arrived: the hub stamps it after a long-poll.
        fresh = await self.syncstate.apply_reply(out, reply, self.clock())
        await self.hub_epoch.after_reply(reply)  # a restored hub: offer again what it lost
        back = not self.stats.online
        self.stats.online, self.stats.last_error = True, ""
        self.stats.syncs += 1
        self.stats.last_sync_ms = self.clock()
        self.uploader.needs_changed(list(reply.need), asked_at)
        new_roots = self.hub_trust.offered(reply.config.trust)
        if fresh or reply.inbox or new_roots:
            self.downloader.inbound_changed()
        # Apply-and-answer at once: acks, statuses, the next batch. Receipts alone need no
        # answer: the next sync (the long-poll, or the quiet box's next one) carries the new
        # rcursor (one exchange per routed blob).
        if reply.accepted or fresh or reply.refused:
            self.woken.set()
        if back or cut_met:
            self.reconnected.fire()
        return reply

    async def _exchange(self, req: SyncRequest) -> SyncReply | None:
        if req.wait == 0:
            return await self.hub.sync(req, self._inbox_seen)
        call = asyncio.create_task(self.hub.sync(req, self._inbox_seen))
        waker = asyncio.create_task(self.woken.wait())
        self.polling = True
        left: tuple[asyncio.Task[bool] | asyncio.Task[SyncReply], ...] = (waker, call)
        try:
            done, _ = await asyncio.wait({call, waker}, return_when=asyncio.FIRST_COMPLETED)
            if call in done:
                return call.result()
            # A clerk just queued something: sync now. The long-poll is not cancelled, as that
            # would close its connection (a new TCP and TLS handshake for the next request):
            # the hub ends it when the next sync arrives, and its reply, asked for with nothing
            # to say, is older news than the next one and is dropped.
            self._orphan(call)
            left = (waker,)
            return None
        finally:
            self.polling = False
            for task in left:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, HubUnavailable,
                                             HubRefused):
                        await task

    def _orphan(self, call: asyncio.Task[SyncReply]) -> None:
        self._orphans.append(call)
        call.add_done_callback(self._orphan_done)
        while len(self._orphans) > MAX_ORPHANS:  # a hub that does not end them: cancel
            self._orphans.pop(0).cancel()

    def _orphan_done(self, call: asyncio.Task[SyncReply]) -> None:
        with contextlib.suppress(ValueError):
            self._orphans.remove(call)
        if not call.cancelled():
            call.exception()  # retrieved: a link failure of a dropped poll is nobody's news

    async def _node(self) -> NodeReport:
        counts = await self.store.counts()
        return NodeReport(
            version=__version__, clock_ms=self.clock(),
            queue=counts["outbound_pending"] + counts["outbound_accepted"],
            disk_free=self.store.blobs.free_bytes(),
            blobs_bad=counts["blobs_refetching"] + counts["blobs_lost"],
            uptime_s=int(time.monotonic() - self.started),
            last_error=(self.stats.last_failure
                        if self.clock() - self.stats.last_failure_ms < REPORT_FAILURE_MS
                        else ""),
            dead=counts["outbound_dead"],
        )


async def _raise_on(stop: asyncio.Event) -> None:
    await stop.wait()
    raise _Stopping
