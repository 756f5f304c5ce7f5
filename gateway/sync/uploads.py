"""Blob uploads: the blobs the hub still needs, in the outbound queue's order; a second one
starts while the running one is in its last frame, so the round trip at its end is not idle.

A running bulk upload ends at its next frame boundary when something more urgent appears, and
pauses mid-frame while a more urgent upload holds the link. A failure that concerns one blob
(the hub's server error or refusal for it, or its 422 on a blob that checks out here) goes to
the queue (:mod:`gateway.queue.outbound`), which holds back its documents alone; a blob that no
longer matches its digest here is given up (its documents dead-lettered); a cut link only
makes the worker wait and ask the hub, before sending more, how much it holds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.protocol.crossdoc import Reference, choose_reference
from gateway.protocol.frames import FrameEncoder
from gateway.protocol.limits import MIN_XDOC_REF
from gateway.protocol.pacing import CutWatch, FramePacer
from gateway.protocol.wire import BlobNeed
from gateway.store import references, repair
from gateway.sync.link import BlobRejected, DictRefused, HubFault, HubRefused, HubUnavailable
from gateway.sync.quiet import QUIET_BUDGET_S
from gateway.sync.reconnect import Reconnect
from gateway.sync.transfers import (
    IDLE_S,
    REQUEST_BUDGET_S,
    Signal,
    Workers,
    link_backoff,
    link_wait,
    recovered,
)

if TYPE_CHECKING:
    from gateway.sync.client import SyncClient

log = logging.getLogger("gateway.sync")
PIECE = 8 * 1024  # frames leave in pieces this big: the granularity of stepping aside
STEP_ASIDE_MAX_S = 20.0
PACE_EVERY_S = 3.0  # how often a running upload re-measures the link
MIN_PACE_S = 1.0  # the shortest stretch of a request that counts as a measurement
GONE = 404  # the hub no longer wants the blob (its documents completed meanwhile)
BAD_FRAME = 400  # a frame failed at the hub (its CRC, or a dictionary frame it cannot read)
CUT_KINDS = frozenset({"dropped", "timeout", "network"})  # a running upload broken by the link


@dataclass(frozen=True)
class Choice:
    """The blob a worker uploads next, or how long it may idle when there is none."""

    need: BlobNeed | None
    idle_s: float


class Uploader:
    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.pacer = FramePacer()
        self.cuts = CutWatch(client.seconds())  # the engine's clock: virtual in tests
        self.workers = Workers()
        self.settled: set[str] = set()  # complete or gone: not to be sent again
        # What this uploader learned from the hub itself (PATCH/HEAD answers) and when: a sync
        # reply that was asked for before that moment is older news and must not bring back a
        # finished blob or an offset the hub has since passed.
        self.learned: dict[str, tuple[int, bool, float]] = {}
        # Cut mid-request, and when: the hub may hold more than we know, until it says how much
        # (a HEAD, or a sync reply asked for after that moment).
        self.unsure: dict[str, float] = {}
        self.held_back: set[str] = set()  # needs the queue last said may not go yet
        self.left: dict[str, int] = {}  # running uploads: bytes not yet handed to the link
        self.no_dict: set[str] = set()  # blobs the hub would not decode against a dictionary
        self.requesting = Signal()  # an upload request is about to take a connection

    def needs_changed(self, needs: list[BlobNeed], asked_at: float) -> None:
        """Takes the hub's list of what it still needs, corrected by anything newer."""
        fresh = {sha: v for sha, v in self.learned.items() if v[2] >= asked_at}
        self.learned = fresh
        for n in needs:  # asked after the cut: its offset is what the hub holds, no HEAD needed
            if self.unsure.get(n.sha256, asked_at) < asked_at:
                del self.unsure[n.sha256]
        self.settled = {sha for sha, (_, done, _) in fresh.items() if done}
        self.client.stats.needs = [
            BlobNeed(n.sha256, max(n.offset, fresh[n.sha256][0]), n.size, n.urgency)
            if n.sha256 in fresh else n for n in needs]
        self.workers.changed.fire()

    def _settle(self, sha256: str, offset: int) -> None:
        self.settled.add(sha256)
        self.learned[sha256] = (offset, True, time.monotonic())

    async def pick(self) -> Choice:
        """The queue's first ready blob that nobody uploads, unless something more urgent is
        moving. A need whose offset equals its size is still picked: the hub holds every byte
        but was stopped before verifying them, and an empty PATCH makes it finish."""
        needs = {n.sha256: n for n in self.client.stats.needs
                 if n.sha256 not in self.settled and n.sha256 not in self.workers.active}
        order = await self.client.queue.order(list(needs))
        self.held_back = set(needs) - set(order.ready)
        # The other worker may have started one of them while the queue was being read.
        ready = [sha for sha in order.ready if sha not in self.workers.active]
        best = needs[ready[0]] if ready else None
        if best is not None and self.workers.may_start(best.urgency) \
                and not self._bulk_running(best.urgency):
            return Choice(best, 0.0)
        idle_s = IDLE_S
        if order.due_ms is not None:
            idle_s = min(idle_s, max(0.0, (order.due_ms - self.client.clock()) / 1000))
        return Choice(None, idle_s)

    async def worker(self, stop: asyncio.Event) -> None:
        backoff = link_backoff(self.client)
        while not stop.is_set():
            choice = await self.pick()
            if choice.need is None:
                await self.client.pause(choice.idle_s, self.workers.changed.next())
                continue
            self.workers.start(choice.need.sha256, choice.need.urgency)
            try:
                await self.attempt(choice.need, backoff)
            finally:
                self.workers.finish(choice.need.sha256)

    async def attempt(self, need: BlobNeed, backoff: Reconnect) -> None:
        """One request's worth of a blob; every failure the hub or the link can cause is
        handled here, anything else ends the engine."""
        c = self.client
        try:
            if need.sha256 in self.unsure:
                held = await c.hub.head(need.sha256)
                self.unsure.pop(need.sha256, None)
                if held.offset > need.offset:
                    recovered(c, backoff)  # the cut request moved bytes: not a failure
                need = self._held(need, held.offset)
                if held.complete:
                    self._settle(need.sha256, need.size)
                    return
            if not c.store.blobs.has(need.sha256):
                await self._unusable(need)  # quarantined or lost on this box
                return
            await self.upload(need)
            recovered(c, backoff)
        except DictRefused as exc:  # nothing stored: the worker sends it again without one
            log.info("blob %s: %s; sent without a dictionary", need.sha256[:12], exc.reason)
            self.no_dict.add(need.sha256)
        except BlobRejected as exc:
            await self._rejected(need, exc)
        except HubFault as exc:  # the hub's server error for this blob: not the link's
            self.unsure[need.sha256] = time.monotonic()
            await self._failed(need, str(exc))
        except HubUnavailable as exc:
            self.unsure[need.sha256] = time.monotonic()
            await link_wait(c, backoff, exc)
        except HubRefused as exc:
            if exc.status == BAD_FRAME and need.sha256 not in self.no_dict \
                    and self.client.hub.upload_dict_max:
                # Perhaps our copy of the dictionary's blob changed: the hub kept the frames
                # before the bad one, and a 409 on the next request gives their end.
                self.no_dict.add(need.sha256)
            elif exc.status == GONE:
                self._settle(need.sha256, need.offset)  # not wanted; the next sync says why
            else:
                await self._failed(need, str(exc))
        except OSError as exc:  # the local copy cannot be read
            await self._failed(need, f"local read failed: {exc.strerror or exc}")

    async def _failed(self, need: BlobNeed, reason: str) -> None:
        outcome = await self.client.queue.failed(need.sha256, reason)
        self.held_back.add(need.sha256)
        if outcome.retrying:
            log.warning("blob %s: %s; %d document(s) again in %.0f s", need.sha256[:12],
                        reason, len(outcome.retrying), outcome.wait_s)
        if outcome.dead:
            log.error("blob %s: %s; %d document(s) dead-lettered", need.sha256[:12], reason,
                      len(outcome.dead))

    async def _rejected(self, need: BlobNeed, exc: BlobRejected) -> None:
        """After the hub's 422: a local copy that no longer matches its digest is given up
        (its documents dead-lettered); an intact one backs off in the queue, as every attempt
        costs the whole blob on a metered link."""
        self._held(need, 0)
        if not await asyncio.to_thread(self.client.store.blobs.verify, need.sha256):
            await self._unusable(need)
            return
        await self._failed(need, f"{exc} though it checks out here")

    async def _unusable(self, need: BlobNeed) -> None:
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

    def frame_size(self) -> int:
        """The next frame's size: about a second of the link, less on a link that cuts often."""
        return self.pacer.frame_size(self.cuts.frame_s(self.client.seconds()))

    def waiting(self) -> bool:
        """A blob the queue lets go now is still to be uploaded."""
        return any(n.sha256 not in self.settled and n.sha256 not in self.held_back
                   for n in self.client.stats.needs)

    def busy(self) -> bool:
        """An upload runs, or one the queue lets go waits for a worker."""
        return bool(self.workers.active) or self.waiting()

    async def upload(self, need: BlobNeed) -> None:
        self.requesting.fire()
        # Counted as running from now, not from its first frame: the other worker must not
        # start a second long upload while this one prepares its dictionary and connects.
        self.left[need.sha256] = need.size - need.offset
        try:
            reference, dictionary = await self._dictionary(need)
            encoder = await asyncio.to_thread(FrameEncoder, dictionary=dictionary)
            result = await self.client.hub.upload(need.sha256, need.offset, need.size,
                                                  self._frames(need, encoder), reference)
        except HubUnavailable as exc:
            if exc.kind in CUT_KINDS:
                self.cuts.cut(self.client.seconds())
            raise
        finally:
            self.left.pop(need.sha256, None)
        self._held(need, result.offset)
        self.client.upload_replied(result.news)
        if result.complete:
            self._settle(need.sha256, need.size)
            await self.client.queue.succeeded(need.sha256)
            self.client.hub_has_news()  # the hub may have routed the document: its receipts

    async def _dictionary(self, need: BlobNeed) -> tuple[Reference | None, bytes | None]:
        """The newest earlier blob of ours, of the same media type, that the hub holds (not
        among its needs) or is about to (in its last frame), and the start of our copy of it:
        the dictionary of this upload's frames (docs/protocol.md §7). None when the hub offers
        no dictionaries, or refused one for this blob."""
        c = self.client
        longest = c.hub.upload_dict_max
        if longest < MIN_XDOC_REF or need.sha256 in self.no_dict:
            return None, None
        sent = await references.sent_before(c.store, need.sha256)
        if sent is None:
            return None, None
        # Complete at the hub, or in its last frame on the other worker (the hub waits for it).
        left = {n.sha256: n.size - n.offset for n in c.stats.needs} | self.left
        finishing = {sha for sha in self.workers.active
                     if left.get(sha, need.size) <= self.pacer.frame_size()}
        pending = {n.sha256 for n in c.stats.needs} - self.settled - finishing
        usable = [x for x in sent.candidates
                  if x.sha256 not in pending and c.store.blobs.has(x.sha256)]
        chosen = choose_reference(usable, sent.media_type, exclude=need.sha256)
        if chosen is None:
            return None, None
        ref = Reference(chosen.sha256, min(chosen.length, longest))
        content = await asyncio.to_thread(c.store.blobs.read_range, ref.sha256, 0, ref.length)
        if len(content) != ref.length:
            return None, None
        return ref, content

    def _bulk_running(self, urgency: int) -> bool:
        """An upload as urgent is running with more than a frame to go. The second worker is
        there to fill the round trip at the end of a request; two long uploads at once would
        only halve each other, and double what waits in the buffers ahead of a Hỏa tốc
        document and what a cut breaks (one connection more to open again)."""
        return any(self.workers.active.get(sha) == urgency and left > self.frame_size()
                   for sha, left in self.left.items())

    def _budget_s(self) -> float:
        """A request's length: shorter while no long-poll is open, as news for the box is
        only heard at the end of a request then (gateway/sync/quiet.py)."""
        return REQUEST_BUDGET_S if self.client.polling else QUIET_BUDGET_S

    def _overtaken(self, need: BlobNeed) -> bool:
        """A more urgent blob waits that the queue has not held back."""
        return any(n.urgency > need.urgency and n.sha256 not in self.settled
                   and n.sha256 not in self.held_back
                   for n in self.client.stats.needs if n.sha256 != need.sha256)

    def _outranked(self, need: BlobNeed) -> bool:
        return any(u > need.urgency for sha, u in self.workers.active.items()
                   if sha != need.sha256)

    async def _step_aside(self, need: BlobNeed) -> float:
        """Pauses mid-frame while a more urgent upload runs (the hub waits for the rest of the
        frame); returns the seconds paused. Bounded, so a connection never idles for long."""
        started = time.monotonic()
        while self._outranked(need) and time.monotonic() - started < STEP_ASIDE_MAX_S:
            await self.client.pause(1.0, self.workers.changed.next())
        return time.monotonic() - started

    async def _frames(self, need: BlobNeed, encoder: FrameEncoder) -> AsyncIterator[bytes]:
        """A frame is sent in pieces, so that a Hỏa tốc upload starting meanwhile gets the
        link at once instead of after the rest of a bulk frame; the bulk request then ends at
        that frame's boundary. The blob is read (and each frame compressed) off the event
        loop, one frame ahead."""
        stats = self.client.stats
        started = self.client.seconds()
        position = need.offset
        # The link rate is what left after the first frame filled the (small) buffers: the
        # average since then, not one frame's time, which only reflects buffer refills.
        flowing_since, flowed = 0.0, 0
        path = self.client.store.blobs.path(need.sha256)

        def read(at: int) -> asyncio.Future[tuple[int, bytes]]:
            want = min(self.frame_size(), need.size - at)
            return asyncio.ensure_future(asyncio.to_thread(_read_frame, path, at, want, encoder))

        # The next frame is read while this one leaves: with about one frame queued before the
        # link, a thread hop on a busy CPU would otherwise leave the link idle between frames.
        ahead: asyncio.Future[tuple[int, bytes]] | None = None
        self.left[need.sha256] = need.size - position
        try:
            while position < need.size:
                if self._overtaken(need) or self.client.seconds() - started > self._budget_s():
                    break  # end the body at this frame boundary
                raw_len, frame = await (ahead or read(position))
                ahead = None
                if not raw_len:
                    break
                if position + raw_len < need.size:
                    ahead = read(position + raw_len)
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
                position += raw_len
                self.left[need.sha256] = need.size - position
                if need.size - position <= self.frame_size():
                    self.workers.changed.fire()  # the other worker may start the next one
                stats.bytes_up += len(frame)
                stats.blob_bytes_up += raw_len
                stats.frames_up += 1
                stats.max_frame = max(stats.max_frame, raw_len)
        finally:
            self.left.pop(need.sha256, None)
            if ahead is not None:
                ahead.cancel()  # the thread finishes and closes the file; its frame is dropped
        if flowing_since and time.monotonic() - flowing_since >= MIN_PACE_S:
            # A shorter tail measures the buffers that took its last frames at once, not the
            # link: 8 KiB "sent" in 10 ms once made 3G frames of 140 KiB.
            self.pacer.observe(flowed, time.monotonic() - flowing_since)


def _read_frame(path: Path, offset: int, size: int, encoder: FrameEncoder) -> tuple[int, bytes]:
    """One frame's bytes, opened and closed in the worker thread: a request cancelled while
    the thread runs (a cut, a more urgent upload) can never leave an open file behind."""
    with path.open("rb") as f:
        f.seek(offset)
        raw = f.read(size)
    return len(raw), encoder.encode(raw) if raw else b""
