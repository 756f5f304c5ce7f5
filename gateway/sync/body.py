"""An upload request's body: a blob's frames, sent in pieces so a more urgent upload can take
the link mid-frame, and, to a hub that takes chains (docs/protocol.md §4), the frames of every
blob the request goes on with, each after its chain frame.

The body is the uploader's view of the link: it keeps :attr:`Uploader.left` (what a running
upload has still to send), moves a chained blob into :attr:`Uploader.workers` as it starts,
and measures the link's rate for the frame size (:class:`gateway.protocol.pacing.FramePacer`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.protocol import pdf_streams, recipe
from gateway.protocol.frame_resume import Context, context
from gateway.protocol.frames import ChainTo, FrameEncoder
from gateway.protocol.limits import MAX_RECODE_BLOB
from gateway.protocol.pdf_streams import Segment
from gateway.protocol.wire import BlobNeed
from gateway.sync.chain import Chain, chain_next
from gateway.sync.resume import Resume, resumable
from gateway.sync.sent_frames import SentFrame
from gateway.sync.transfers import REQUEST_BUDGET_S

if TYPE_CHECKING:
    from gateway.sync.uploads import Uploader

PIECE = 8 * 1024  # frames leave in pieces this big: the granularity of stepping aside
STEP_ASIDE_MAX_S = 20.0
PACE_EVERY_S = 3.0  # how often a running upload re-measures the link
MIN_PACE_S = 1.0  # the shortest stretch of a request that counts as a measurement
RECODABLE_KEPT = 8  # blobs whose streams the uploader remembers (a chain's, across a cut)


class RequestBody:
    """The frames of one request, for :meth:`gateway.sync.link.HubLink.upload`; the blobs it
    carried are in ``chain``, the request's budget counts from its first frame."""

    def __init__(self, uploader: Uploader, chain: Chain, encoder: FrameEncoder,
                 recode: bool = False, context: Context = (None, False),
                 resume: Resume | None = None) -> None:
        self.up = uploader
        self.chain = chain
        self.encoder = encoder
        self.recode = recode  # the request said Upload-Recode (§7): its streams go inflated
        self.context = context  # the first blob's dictionary and recoding, as sent frames keep
        # The piece the hub holds of the frame at the first blob's offset, and that frame (§4).
        self.resume = resume
        self.started = 0.0

    async def frames(self) -> AsyncIterator[bytes]:
        """The first blob's frames, then, each after a chain frame, those of every blob
        :meth:`_going_on` chooses, each made against its own dictionary."""
        self.started = self.up.linked_s = self.up.client.seconds()  # connected: the link is up
        # The hub takes the piece (or drops it) as this body starts: it is no longer there.
        self.up.client.hub.frames_held.pop(self.chain.current.sha256, None)
        self.up.requesting.fire()  # the connection is this request's: the next sync may go
        async for piece in self._blob(self.encoder, self.context, self.resume):
            yield piece
        while self.chain.whole and (going_on := await self._going_on()) is not None:
            refs, dictionary = await self.up.dictionary(going_on, self.chain.shas[:-1],
                                                        recode=self.recode)
            encoder = await asyncio.to_thread(FrameEncoder, dictionary=dictionary)
            frame = ChainTo(going_on.sha256, going_on.offset, going_on.size, refs).frame()
            self.up.client.stats.bytes_up += len(frame)
            yield frame
            async for piece in self._blob(encoder, context(refs, self.recode)):
                yield piece

    async def _going_on(self) -> BlobNeed | None:
        """The blob the request goes on with, once its current one has gone whole, if the hub
        takes chains, the request's budget lasts and nothing more urgent waits. It counts as
        running at once, and the blob before as sent (the hub verifies it before going on)."""
        up, c, current = self.up, self.up.client, self.chain.current
        if not c.hub.upload_chain or up.overtaken(current) or self._spent():
            return None
        order = await up.order(up.unsettled())
        if order is None:
            return None
        others = {sha: u for sha, u in up.workers.active.items() if sha != current.sha256}
        skip = {*up.unsure, *self.chain.shas, *resumable(up)}  # a chain frame cannot resume
        going_on = chain_next(order.ready, up.sendable(), others, skip)
        if going_on is None or not c.store.blobs.has(going_on.sha256):
            return None
        up.sent.add(current.sha256)
        up.workers.start(going_on.sha256, going_on.urgency)
        up.workers.finish(current.sha256)
        up.left[going_on.sha256] = going_on.size - going_on.offset
        self.chain.add(going_on)
        return going_on

    async def _segments(self, need: BlobNeed, path: Path) -> list[Segment]:
        """The streams of ``need`` that go inflated in this request (none if it is not
        recoding), from the uploader's few latest if it has them."""
        up, sha = self.up, need.sha256
        if not self.recode or sha in up.no_recode or need.size > MAX_RECODE_BLOB:
            return []
        if sha not in up.recodable:
            up.recodable[sha] = await asyncio.to_thread(_segments, path)
            while len(up.recodable) > RECODABLE_KEPT:
                up.recodable.popitem(last=False)
        up.recodable.move_to_end(sha)
        return up.recodable[sha]

    def _spent(self) -> bool:
        """The request's budget is over: it ends at the next frame boundary, so that the
        queue's order is read again and news for the box is heard."""
        return self.up.client.seconds() - self.started > REQUEST_BUDGET_S

    def _outranked(self, need: BlobNeed) -> bool:
        return any(u > need.urgency for sha, u in self.up.workers.active.items()
                   if sha != need.sha256)

    async def _step_aside(self, need: BlobNeed) -> float:
        """Pauses mid-frame while a more urgent upload runs (the hub waits for the rest of the
        frame); returns the seconds paused. Bounded, so a connection never idles for long."""
        started = time.monotonic()
        while self._outranked(need) and time.monotonic() - started < STEP_ASIDE_MAX_S:
            await self.up.client.pause(1.0, self.up.workers.changed.next())
        return time.monotonic() - started

    async def _blob(self, encoder: FrameEncoder, context: Context,
                    resume: Resume | None = None) -> AsyncIterator[bytes]:
        """The chain's current blob from where it starts, until the request's budget is
        spent. A frame is sent in pieces, so that a Hỏa tốc upload starting meanwhile gets the
        link at once instead of after the rest of a bulk frame; the bulk request then ends at
        that frame's boundary. The blob is read (and each frame compressed) off the event
        loop, one frame ahead. With ``resume`` (the piece the hub holds of the frame at the
        offset, and that frame) the first frame is the rest of that one."""
        up, chain = self.up, self.chain
        stats, need = up.client.stats, chain.current
        position = need.offset
        # The link rate is what left after the first frame filled the (small) buffers: the
        # average since then, not one frame's time, which only reflects buffer refills.
        flowing_since, flowed = 0.0, 0
        path = up.client.store.blobs.path(need.sha256)
        segments = await self._segments(need, path)

        def read(at: int) -> asyncio.Future[tuple[int, bytes]]:
            want = min(up.frame_size(), need.size - at)
            return asyncio.ensure_future(asyncio.to_thread(
                _read_frame, path, at, want, encoder, segments, need.size))

        # The next frame is read while this one leaves: with about one frame queued before the
        # link, a thread hop on a busy CPU would otherwise leave the link idle between frames.
        ahead: asyncio.Future[tuple[int, bytes]] | None = None
        up.left[need.sha256] = need.size - position
        try:
            while position < need.size:
                if up.overtaken(need) or self._spent():
                    break  # end the body at this frame boundary
                skip = 0
                if resume is not None:
                    (held, cut), resume = resume, None
                    skip, raw_len, frame = held.length, cut.raw_len, cut.frame
                else:
                    raw_len, frame = await (ahead or read(position))
                ahead = None
                if not raw_len:
                    break
                if position + raw_len < need.size:
                    ahead = read(position + raw_len)
                up.recent.remember(need.sha256, position, SentFrame(raw_len, frame, context))
                for i, piece in enumerate(_pieces(frame[skip:], up.piece_size())):
                    if i and self._outranked(need):  # a more urgent upload is moving: let it
                        flowing_since += await self._step_aside(need)  # have the whole link
                    yield piece
                now = time.monotonic()
                if not flowing_since:
                    flowing_since = now
                elif (flowed := flowed + len(frame)) and now - flowing_since >= PACE_EVERY_S:
                    up.pacer.observe(flowed, now - flowing_since)  # adapt within a request
                    flowing_since, flowed = now, 0
                position = chain.position = position + raw_len
                up.left[need.sha256] = need.size - position
                if need.size - position <= up.frame_size() and not up.client.hub.upload_chain:
                    up.workers.changed.fire()  # the other worker may start the next one
                stats.bytes_up += len(frame) - skip
                stats.blob_bytes_up += raw_len
                stats.frames_up += 1
                stats.max_frame = max(stats.max_frame, raw_len)
        finally:
            up.left.pop(need.sha256, None)
            if ahead is not None:
                ahead.cancel()  # the thread finishes and closes the file; its frame is dropped
        if flowing_since and time.monotonic() - flowing_since >= MIN_PACE_S:
            # A shorter tail measures the buffers that took its last frames at once, not the
            # link: 8 KiB "sent" in 10 ms once made 3G frames of 140 KiB.
            up.pacer.observe(flowed, time.monotonic() - flowing_since)


def _pieces(frame: bytes, piece: int = PIECE) -> list[bytes]:
    """``frame`` in pieces of about ``piece`` bytes. Each piece costs a TLS record and a
    chunk header (~30 bytes), so a frame just over a piece (a raw 8 KiB frame and its 13-byte
    header) goes whole rather than with a tail of its own."""
    count = max(1, round(len(frame) / piece))
    size = max(1, -(-len(frame) // count))
    return [frame[at:at + size] for at in range(0, len(frame), size)]


def _read_frame(path: Path, offset: int, want: int, encoder: FrameEncoder,
                segments: list[Segment], size: int) -> tuple[int, bytes]:
    """One frame of about ``want`` bytes, opened and closed in the worker thread: a request
    cancelled while the thread runs (a cut, a more urgent upload) can never leave an open
    file behind. Whole deflated streams among them go inflated (a recipe) when ``segments``
    names any; a frame stretched to hold one that then comes out too long for the link goes
    plain instead, ``want`` bytes of it."""
    end = recipe.frame_end(segments, offset, want, size)
    with path.open("rb") as f:
        f.seek(offset)
        raw = f.read(end - offset)
    if not raw:
        return 0, b""
    frame = encoder.encode(raw, recipe.build(raw, offset, segments))
    if len(raw) > want and len(frame) > recipe.WIRE_SPAN * want:
        raw = raw[:want]
        frame = encoder.encode(raw)
    return len(raw), frame


def _segments(path: Path) -> list[Segment]:
    """The deflated streams of a blob that the hub can deflate again byte for byte."""
    return pdf_streams.segments(path.read_bytes())
