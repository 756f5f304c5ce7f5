"""Blob transfers: two workers per direction keep the link busy across round trips, and the
most urgent bytes always go first.

With one request at a time, every small document costs an idle round trip (up to a second on
3G); a second worker fills that gap. Neither worker starts something less urgent than what is
already moving, so a Hỏa tốc document never shares the link with bulk, and a running bulk
upload ends at its next frame boundary when something more urgent appears.

Uploads live here with the workers' shared rules; downloads in :mod:`gateway.sync.downloads`.
A blob the hub refuses as not matching its digest is hashed again here: a damaged local copy
is given up (its documents dead-lettered), an intact one waits out a long backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gateway.protocol.frames import FrameEncoder
from gateway.protocol.pacing import FramePacer
from gateway.protocol.wire import BlobNeed
from gateway.queue import Backoff
from gateway.store import repair
from gateway.sync.transport import BlobRejected, HubRefused, HubUnavailable

if TYPE_CHECKING:
    from gateway.sync.client import SyncClient

log = logging.getLogger("gateway.sync")
WORKERS = 2
PIECE = 8 * 1024  # frames leave in pieces this big: the granularity of stepping aside
STEP_ASIDE_MAX_S = 20.0
PACE_EVERY_S = 3.0  # how often a running upload re-measures the link
REQUEST_BUDGET_S = 30.0  # after this long a request ends, so priorities are re-read
DOWNLOAD_SLICE_S = 8.0  # link time per download request: the granularity of inbound priority
# Transfers retry sooner than the sync loop (which backs off to 5 minutes): a cut link is
# usually back within seconds, and every second waited past that is a second of link unused.
# A refused connection costs a few dozen bytes, so trying every few seconds is cheap.
TRANSFER_BACKOFF_CAP_S = 4.0
# A blob the hub refused as not matching its digest, though it checks out here, is sent again
# only after this backoff: every attempt costs the whole blob on a metered link.
REJECTED_BASE_S = 60.0
REJECTED_CAP_S = 6 * 3600.0


def recovered(client: SyncClient, backoff: Backoff) -> None:
    if backoff.failures:
        client.wake()  # the link is back: the sync loop need not sit out its own backoff
    backoff.succeeded()


class Signal:
    """Wakes every waiter once per change, without anyone having to clear a flag."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seconds: float | None = None) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


class Workers:
    """Which transfers are running, and the rule that keeps urgent ones undiluted."""

    def __init__(self) -> None:
        self.active: dict[str, int] = {}  # blob digest -> urgency
        self.changed = Signal()

    def may_start(self, urgency: int) -> bool:
        return not self.active or urgency >= max(self.active.values())

    def start(self, sha256: str, urgency: int) -> None:
        self.active[sha256] = urgency

    def finish(self, sha256: str) -> None:
        self.active.pop(sha256, None)
        self.changed.fire()


class Uploader:
    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.pacer = FramePacer()
        self.workers = Workers()
        self.settled: set[str] = set()  # complete or refused: not to be sent again
        # What this uploader learned from the hub itself (PATCH/HEAD answers) and when: a sync
        # reply that was asked for before that moment is older news and must not bring back a
        # finished blob or an offset the hub has since passed.
        self.learned: dict[str, tuple[int, bool, float]] = {}
        self.lost: set[str] = set()  # damaged here and dead-lettered: never to be sent
        self.rejections: dict[str, Backoff] = {}  # per blob, after the hub's 422
        self.not_before: dict[str, float] = {}  # monotonic time a rejected blob may go again

    def needs_changed(self, needs: list[BlobNeed], asked_at: float) -> None:
        """Takes the hub's list of what it still needs, corrected by anything newer."""
        fresh = {sha: v for sha, v in self.learned.items() if v[2] >= asked_at}
        self.learned = fresh
        self.settled = {sha for sha, (_, done, _) in fresh.items() if done}
        self.client.stats.needs = [
            BlobNeed(n.sha256, max(n.offset, fresh[n.sha256][0]), n.size, n.urgency)
            if n.sha256 in fresh else n for n in needs]
        self.workers.changed.fire()

    def _settle(self, sha256: str, offset: int) -> None:
        self.settled.add(sha256)
        self.learned[sha256] = (offset, True, time.monotonic())

    def pick(self) -> BlobNeed | None:
        # A need whose offset equals its size is still picked: the hub holds every byte but
        # was stopped before verifying them, and an empty PATCH makes it finish.
        now = time.monotonic()
        pending = [n for n in self.client.stats.needs
                   if n.sha256 not in self.settled and n.sha256 not in self.workers.active
                   and n.sha256 not in self.lost and self.not_before.get(n.sha256, 0.0) <= now]
        best = max(pending, key=lambda n: n.urgency, default=None)
        return best if best is not None and self.workers.may_start(best.urgency) else None

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._worker(stop) for _ in range(WORKERS)))

    async def _worker(self, stop: asyncio.Event) -> None:
        c = self.client
        backoff = Backoff(base_s=0.5, cap_s=TRANSFER_BACKOFF_CAP_S, rng=c.rng)
        unsure = False  # after a cut the hub may hold more than it last confirmed
        while not stop.is_set():
            need = self.pick()
            if need is None:
                await self.workers.changed.wait(seconds=5.0)
                continue
            self.workers.start(need.sha256, need.urgency)
            try:
                if unsure:
                    held = await c.hub.head(need.sha256)
                    if held.offset > need.offset:
                        recovered(c, backoff)  # the cut request moved bytes: not a failure
                    need = self._held(need, held.offset)
                    unsure = False
                    if held.complete:
                        self._settle(need.sha256, need.size)
                        continue
                if not c.store.blobs.has(need.sha256):
                    await self._unusable(need)  # quarantined or lost on this box
                    continue
                await self.upload(need)
                recovered(c, backoff)
            except BlobRejected:
                await self._rejected(need)
            except HubUnavailable:
                unsure = True
                await c.sleep(backoff.failed())
            except HubRefused:
                self._settle(need.sha256, need.offset)  # not wanted; the next sync says why
            except Exception:
                log.exception("upload of %s failed", need.sha256[:12])
                await c.sleep(max(30.0, backoff.failed()))
            finally:
                self.workers.finish(need.sha256)

    async def _rejected(self, need: BlobNeed) -> None:
        """After the hub's 422: a local copy that no longer matches its digest is given up
        (its documents dead-lettered); an intact one is sent again only after a backoff."""
        self._held(need, 0)
        if not await asyncio.to_thread(self.client.store.blobs.verify, need.sha256):
            await self._unusable(need)
            return
        backoff = self.rejections.setdefault(
            need.sha256, Backoff(base_s=REJECTED_BASE_S, cap_s=REJECTED_CAP_S,
                                 rng=self.client.rng))
        wait = backoff.failed()
        self.not_before[need.sha256] = time.monotonic() + wait
        log.warning("hub refused blob %s as damaged though it checks out here; again in %.0f s",
                    need.sha256[:12], wait)

    async def _unusable(self, need: BlobNeed) -> None:
        self.lost.add(need.sha256)
        docs = await repair.dead_letter_blob(self.client.store, need.sha256)
        if docs:
            log.error("blob %s is damaged on this box: %d document(s) dead-lettered",
                      need.sha256[:12], len(docs))

    def _held(self, need: BlobNeed, offset: int) -> BlobNeed:
        """Records how much of a blob the hub holds, until the next reply says it again."""
        updated = BlobNeed(need.sha256, offset, need.size, need.urgency)
        self.learned[need.sha256] = (offset, False, time.monotonic())
        self.client.stats.needs = [updated if n.sha256 == need.sha256 else n
                                   for n in self.client.stats.needs]
        return updated

    async def upload(self, need: BlobNeed) -> None:
        result = await self.client.hub.upload(need.sha256, need.offset, need.size,
                                              self._frames(need))
        self._held(need, result.offset)
        if result.complete:
            self._settle(need.sha256, need.size)
            self.rejections.pop(need.sha256, None)
            self.not_before.pop(need.sha256, None)
            self.client.wake()  # the hub may have routed the document: fetch receipts now

    def _overtaken(self, need: BlobNeed) -> bool:
        return any(n.urgency > need.urgency and n.sha256 not in self.settled
                   for n in self.client.stats.needs if n.sha256 != need.sha256)

    def _outranked(self, need: BlobNeed) -> bool:
        return any(u > need.urgency for sha, u in self.workers.active.items()
                   if sha != need.sha256)

    async def _step_aside(self, need: BlobNeed) -> float:
        """Pauses mid-frame while a more urgent upload runs (the hub waits for the rest of the
        frame); returns the seconds paused. Bounded, so a connection never idles for long."""
        started = time.monotonic()
        while self._outranked(need) and time.monotonic() - started < STEP_ASIDE_MAX_S:
            await self.workers.changed.wait(seconds=1.0)
        return time.monotonic() - started

    async def _frames(self, need: BlobNeed) -> AsyncIterator[bytes]:
        """A frame is sent in pieces, so that a Hỏa tốc upload starting meanwhile gets the
        link at once instead of after the rest of a bulk frame; the bulk request then ends at
        that frame's boundary."""
        stats = self.client.stats
        encoder = FrameEncoder()
        started = time.monotonic()
        position = need.offset
        # The link rate is what left after the first frame filled the (small) buffers: the
        # average since then, not one frame's time, which only reflects buffer refills.
        flowing_since, flowed = 0.0, 0
        with self.client.store.blobs.path(need.sha256).open("rb") as f:
            f.seek(position)
            while position < need.size:
                if self._overtaken(need) or time.monotonic() - started > REQUEST_BUDGET_S:
                    break  # end the body at this frame boundary
                raw = f.read(min(self.pacer.frame_size(), need.size - position))
                if not raw:
                    break
                frame = encoder.encode(raw)
                for at in range(0, len(frame), PIECE):
                    if at and self._outranked(need):  # a more urgent upload is moving: let it
                        flowing_since += await self._step_aside(need)  # have the whole link
                    yield frame[at:at + PIECE]
                now = time.monotonic()
                if not flowing_since:
                    flowing_since = now
                elif (flowed := flowed + len(frame)) and now - flowing_since >= PACE_EVERY_S:
                    self.pacer.observe(flowed, now - flowing_since)  # adapt within a request
                    flowing_since, flowed = now, 0
                position += len(raw)
                stats.bytes_up += len(frame)
                stats.blob_bytes_up += len(raw)
                stats.frames_up += 1
                stats.max_frame = max(stats.max_frame, len(raw))
        if flowing_since:
            self.pacer.observe(flowed, time.monotonic() - flowing_since)
