"""Blob uploads: the blobs the hub still needs, in the outbound queue's order. To a hub that
takes chains a request goes on into the next blob (:mod:`gateway.sync.chain`, its body is
:mod:`gateway.sync.body`); to an older one a second request starts while the running one is in
its last frame, so the round trip at its end is not idle.

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
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.protocol.crossdoc import Reference, choose_references
from gateway.protocol.frame_resume import context
from gateway.protocol.frames import FrameEncoder
from gateway.protocol.limits import MIN_XDOC_REF
from gateway.protocol.pacing import CutWatch, FramePacer, piece_size
from gateway.protocol.pdf_streams import Segment
from gateway.protocol.wire import BlobNeed
from gateway.queue import Order
from gateway.store import references, repair
from gateway.sync.after_cut import REFUSED, cut_blobs, first_known, goes_alone
from gateway.sync.body import PIECE, RequestBody
from gateway.sync.chain import Chain
from gateway.sync.link import (
    BlobRejected,
    DictRefused,
    HubError,
    HubFault,
    HubRefused,
    HubUnavailable,
    ResumeRefused,
    UploadResult,
)
from gateway.sync.reconnect import Reconnect
from gateway.sync.resume import going_on
from gateway.sync.sent_frames import SentFrames
from gateway.sync.transfers import (
    IDLE_S,
    TOLD_S,
    Signal,
    Workers,
    link_backoff,
    link_wait,
    recovered,
)

if TYPE_CHECKING:
    from gateway.sync.client import SyncClient

log = logging.getLogger("gateway.sync")
GONE = 404  # the hub no longer wants the blob (its documents completed meanwhile)
BAD_FRAME = 400  # a frame failed at the hub (its CRC, or a dictionary frame it cannot read)
CUT_KINDS = frozenset({"dropped", "timeout", "network"})  # a running upload broken by the link
ANSWERS = (HubFault, HubRefused, BlobRejected)  # the hub's word on one blob, not the link's


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
        self.failures = 0  # blobs that went to the queue as failed: a new count, a new order
        self.left: dict[str, int] = {}  # running uploads: bytes not yet handed to the link
        self.sent: set[str] = set()  # whole in a running chain: its answer says their fate
        self.no_dict: set[str] = set()  # blobs the hub would not decode against a dictionary
        self.no_recode: set[str] = set()  # blobs whose recoded frames the hub refused
        # The streams of the blobs lately sent recoded: a request after a cut finds them here
        # instead of inflating and deflating them all again before its first frame.
        self.recodable: OrderedDict[str, list[Segment]] = OrderedDict()
        self.recent = SentFrames()  # the frames lately sent: a cut one goes on where it broke
        self.requesting = Signal()  # an upload request holds its connection (its body starts)
        self.linked_s = 0.0  # when a request last began its body: the link was up then

    def needs_changed(self, needs: list[BlobNeed], asked_at: float) -> None:
        """Takes the hub's list of what it still needs, corrected by anything newer."""
        fresh = {sha: v for sha, v in self.learned.items() if v[2] >= asked_at}
        self.learned = fresh
        # Asked after the cut: a need's offset is what the hub holds (no HEAD needed), and a
        # blob it no longer needs is complete there.
        self.unsure = {sha: at for sha, at in self.unsure.items() if at >= asked_at}
        self.settled = {sha for sha, (_, done, _) in fresh.items() if done}
        self.recent.keep_only(n.sha256 for n in needs if n.sha256 not in self.settled)
        self.client.stats.needs = [
            BlobNeed(n.sha256, max(n.offset, fresh[n.sha256][0]), n.size, n.urgency)
            if n.sha256 in fresh else n for n in needs]
        self.workers.changed.fire()

    def _settle(self, sha256: str, offset: int) -> None:
        self.settled.add(sha256)
        self.recent.forget(sha256)  # no frame of it is to go on with
        self.learned[sha256] = (offset, True, time.monotonic())

    async def pick(self) -> Choice:
        """The queue's first ready blob that nobody uploads, unless something more urgent is
        moving. A need whose offset equals its size is still picked: the hub holds every byte
        but was stopped before verifying them, and an empty PATCH makes it finish."""
        unsettled = self.unsettled()
        order = await self.order(unsettled)
        if order is None:  # a blob failed while the queue was read: read it again
            return Choice(None, 0.0)
        self.held_back = set(unsettled) - set(order.ready)
        # Read after the queue: a request may have started, ended or gone on meanwhile.
        needs = self.sendable()
        ready = [sha for sha in order.ready if sha in needs]
        best = first_known(ready, needs, self.unsure)
        if best is not None and self.workers.may_start(best.urgency) \
                and not self._bulk_running(best.urgency):
            return Choice(best, 0.0)
        idle_s = IDLE_S
        if order.due_ms is not None:
            idle_s = min(idle_s, max(0.0, (order.due_ms - self.client.clock()) / 1000))
        return Choice(None, idle_s)

    async def order(self, digests: list[str]) -> Order | None:
        """The queue's order of ``digests``; None if a blob failed while it was read, as the
        order may then still name it."""
        failures = self.failures
        order = await self.client.queue.order(digests)
        return order if failures == self.failures else None

    def unsettled(self) -> list[str]:
        return [n.sha256 for n in self.client.stats.needs if n.sha256 not in self.settled]

    def sendable(self) -> dict[str, BlobNeed]:
        """The needs nobody sends now: not settled, not running, not whole in a running chain."""
        return {n.sha256: n for n in self.client.stats.needs if n.sha256 not in self.settled
                and n.sha256 not in self.workers.active and n.sha256 not in self.sent}

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
                if c.stats.online and cut_blobs(c.stats.needs, self.unsure) > 1:
                    await self._ask_all()  # one sync tells them all, not a HEAD each
                    return
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
        except ANSWERS as exc:  # to the HEAD; an upload's answers are handled by upload()
            await self._answered(need, exc)
        except HubUnavailable as exc:
            if exc.kind != REFUSED:  # a connection never made sent nothing
                self.unsure[need.sha256] = time.monotonic()
            if backoff.down_since is not None and self.linked_s > backoff.down_since:
                backoff.succeeded()  # a request got through since: this is a new outage
            if goes_alone(self, need, exc, backoff):
                await c.pause(backoff.failed(exc))
            else:
                await link_wait(c, backoff, exc)
        except OSError as exc:  # the local copy cannot be read
            await self._failed(need, f"local read failed: {exc.strerror or exc}")

    async def _ask_all(self) -> None:
        """Has the sync loop sync now, and waits for its reply (or :data:`TOLD_S`)."""
        back = self.client.reconnected.next()
        self.client.link_failed()
        await self.client.pause(TOLD_S, back)

    async def _answered(self, need: BlobNeed, exc: HubError) -> None:
        """The hub's answer about one blob, which goes to the queue unless it is only about
        how to send it."""
        match exc:
            case ResumeRefused():  # nothing stored: the frame goes whole
                self.recent.forget(need.sha256)
            case DictRefused():  # nothing stored: the worker sends it again without one
                log.info("blob %s: %s; sent without a dictionary", need.sha256[:12], exc.reason)
                self.no_dict.add(need.sha256)
                self.no_recode.add(need.sha256)  # perhaps it was the recoding it refused
            case BlobRejected():
                await self._rejected(need, exc)
            case HubFault():  # the hub's server error for this blob: not the link's
                self.unsure[need.sha256] = time.monotonic()
                await self._failed(need, str(exc))
            case HubRefused(status=status) if status == BAD_FRAME and \
                    need.sha256 not in self.no_dict and self.client.hub.upload_dict_max:
                # Perhaps our copy of the dictionary's blob changed, or the hub's zlib deflates
                # otherwise: the hub kept the frames before the bad one, and a 409 on the next
                # request gives their end.
                self.no_dict.add(need.sha256)
                self.no_recode.add(need.sha256)
            case HubRefused(status=status) if status == GONE:
                self._settle(need.sha256, need.offset)  # not wanted; the next sync says why
            case _:
                await self._failed(need, str(exc))

    async def _failed(self, need: BlobNeed, reason: str) -> None:
        outcome = await self.client.queue.failed(need.sha256, reason)
        self.failures += 1
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
        """The next frame's size: about a second of the link, less on a link that cuts often,
        unless the hub goes on with an interrupted frame (then a cut costs a TLS record at most).
        """
        if self.client.hub.upload_resume:
            return self.pacer.frame_size()
        return self.pacer.frame_size(self.cuts.frame_s(self.client.seconds()))

    def piece_size(self) -> int:
        """The pieces a frame goes in: smaller on a link that cuts often, when the hub keeps
        what arrived of an interrupted frame (else a cut loses the frame whatever its pieces)."""
        if not self.client.hub.upload_resume:
            return PIECE
        return piece_size(PIECE, self.pacer.rate, self.cuts.between_s(self.client.seconds()))

    def waiting(self) -> bool:
        """A blob the queue lets go now is still to be uploaded."""
        return any(n.sha256 not in self.settled and n.sha256 not in self.held_back
                   for n in self.client.stats.needs)

    def waiting_needs(self) -> list[BlobNeed]:
        """The needs still to be sent that the queue has not held back: not settled, not whole
        in a running chain."""
        return [n for n in self.client.stats.needs if n.sha256 not in self.settled
                and n.sha256 not in self.held_back and n.sha256 not in self.sent]

    def jumping_in(self) -> bool:
        """A blob the queue has not held back waits that outranks every running upload (or
        none runs): a worker starts it now."""
        top = max(self.workers.active.values(), default=-1)
        return any(n.urgency > top and n.sha256 not in self.workers.active
                   for n in self.waiting_needs())

    def busy(self) -> bool:
        """An upload runs, or one the queue lets go waits for a worker."""
        return bool(self.workers.active) or self.waiting()

    async def upload(self, need: BlobNeed) -> None:
        """One request: ``need``'s frames, perhaps chained on into more blobs; the hub's
        answer, and a cut, concern each blob as docs/protocol.md §4 says."""
        # Counted as running from now, not from its first frame: the other worker must not
        # start a second long upload while this one prepares its dictionary and connects.
        self.left[need.sha256] = need.size - need.offset
        chain = Chain(need)
        recode = self.client.hub.upload_recode and need.sha256 not in self.no_recode
        try:
            resume, refs, dictionary = await going_on(self, need, recode)
            if resume is None:
                refs, dictionary = await self.dictionary(need, recode=recode)
            encoder = await asyncio.to_thread(FrameEncoder, dictionary=dictionary)
            body = RequestBody(self, chain, encoder, recode, context(refs, recode),
                               resume).frames()
            try:
                result = await self.client.hub.upload(need.sha256, need.offset, need.size,
                                                      body, refs, recode,
                                                      resume[0] if resume else None)
            except ANSWERS as exc:
                done, about = chain.answered(exc.blob)
                await self._completed(done)
                await self._answered(about, exc)
                return
            await self._replied(chain, result)
        except HubUnavailable as exc:
            if exc.kind in CUT_KINDS:
                self.cuts.cut(self.client.seconds())
            if exc.kind != REFUSED:
                self.unsure.update(dict.fromkeys(chain.shas, time.monotonic()))
                self.recent.pin(chain.shas)
            raise
        finally:
            for sha in chain.shas:
                self.left.pop(sha, None)
            self.sent.difference_update(chain.shas)
            for sha in chain.shas[1:]:
                self.workers.finish(sha)

    async def _replied(self, chain: Chain, result: UploadResult) -> None:
        done, about = chain.answered(result.blob)
        about = self._held(about, result.offset)
        if result.complete:
            done.append(about)
        self.client.upload_replied(result.news)
        await self._completed(done)

    async def _completed(self, done: list[BlobNeed]) -> None:
        """Blobs the hub holds complete and verified: their documents may be routed."""
        for need in done:
            self._settle(need.sha256, need.size)
        for need in done:
            await self.client.queue.succeeded(need.sha256)
        if done:
            self.client.hub_has_news()  # the hub may have routed the documents: their receipts

    async def dictionary(self, need: BlobNeed, held: Collection[str] = (), *,
                         recode: bool = False) -> tuple[tuple[Reference, ...], bytes | None]:
        """The newest earlier blobs of ours (as many as the hub takes), of the same media type,
        that the hub holds (not among its needs, or ``held``: before it in its chain) or is
        about to (in its last frame), and the start of our copy of each (``recode``: of its
        expanded form), joined: the dictionary of this upload's frames (docs/protocol.md §7).
        None when the hub offers no dictionaries, or refused one for this blob."""
        c = self.client
        longest = c.hub.upload_dict_max
        if longest < MIN_XDOC_REF or need.sha256 in self.no_dict:
            return (), None
        # Complete at the hub, or in its last frame on the other worker (the hub waits for it).
        left = {n.sha256: n.size - n.offset for n in c.stats.needs} | self.left
        finishing = {sha for sha in self.workers.active
                     if left.get(sha, need.size) <= self.pacer.frame_size()}
        pending = {n.sha256 for n in c.stats.needs} - self.settled - finishing - set(held)
        sent = await references.sent_before(c.store, need.sha256, pending)
        if sent is None:
            return (), None
        usable = [x for x in sent.candidates if c.store.blobs.has(x.sha256)]
        chosen = choose_references(usable, sent.media_type, need.sha256, c.hub.upload_dict_refs)
        refs, content = await asyncio.to_thread(
            references.dictionary, lambda sha, n: c.store.blobs.read_range(sha, 0, n), chosen,
            longest, recode)
        return refs, content or None

    def _bulk_running(self, urgency: int) -> bool:
        """An upload as urgent is running: to a hub that takes chains at all (that request
        carries on into the next blob), else with more than a frame to go. The second worker
        is there to fill the round trip at the end of a request; two long uploads at once
        would only halve each other, and double what waits in the buffers ahead of a Hỏa tốc
        document and what a cut breaks (one connection more to open again)."""
        if self.client.hub.upload_chain:
            return urgency in self.workers.active.values()
        return any(self.workers.active.get(sha) == urgency and left > self.frame_size()
                   for sha, left in self.left.items())

    def overtaken(self, need: BlobNeed) -> bool:
        """A more urgent blob waits that the queue has not held back."""
        return any(n.urgency > need.urgency for n in self.waiting_needs())
