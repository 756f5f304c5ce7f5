"""One ``PATCH`` request, which may carry several blobs (docs/protocol.md §4, "Chained upload").

The blob the path names comes first; after its last frame a chain frame may name the next
blob, whose frames follow, and so on. Each blob goes through the same steps whether the path
or a chain frame named it: :meth:`UploadSession._begin` checks it as a request's first blob
(a document of the caller's, its size, one request per blob, not complete yet, the offset,
the dictionary), its frames are appended as they complete, and :meth:`UploadSession._finish`
verifies and routes it. A chain pays neither the round trip at a blob's end nor, after a
cut, a TLS handshake for a second request.

Whenever the hub stops reading, the reply is the one a single-blob request would get for the
blob the hub was at, with ``Upload-Blob`` naming that blob when it is not the path's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.hub.bodies import BodyTimeout, body_chunks
from gateway.hub.state import HubState, UploadSlot
from gateway.hub.upload_dict import dictionary_for
from gateway.protocol.crossdoc import DICT_REFUSED, UPLOAD_BLOB, references_header
from gateway.protocol.frame_resume import RESUME_REFUSED, HeldPiece
from gateway.protocol.frames import ChainTo, FrameDecoder, FrameError
from gateway.protocol.seen import NEWS_HEADER

EVICT_WAIT_S = 10.0
DISK_FULL = "the hub's disk is full"
STALLED = "upload stalled"
# What reading a body raises when the connection broke (a cut, everyday life on 3G).
_BROKEN = (ConnectionError, OSError, asyncio.IncompleteReadError, ClientPayloadError,
           HttpProcessingError)


@dataclass(frozen=True)
class Segment:
    """One blob of a request as its sender describes it: ``Upload-Offset``, ``Upload-Length``
    and ``Upload-Dict`` for the path's blob, a chain frame's body for a chained one."""

    sha256: str
    offset: int
    size: int
    dictionary: str | None  # the Upload-Dict value, "<sha256>:<length>[,…]"

    @classmethod
    def chained(cls, to: ChainTo) -> Segment:
        refs = to.references
        return cls(to.sha256, to.offset, to.size, references_header(refs) if refs else None)


async def declared_size(hub: HubState, agency: str, sha: str) -> int:
    """The size of ``sha`` in the caller's accepted documents; ``404`` if none uses it."""
    size = await hub.store.upload_size(agency, sha)
    if size is None:
        raise web.HTTPNotFound(text="no accepted document of yours uses this blob\n")
    return size


class _Stop(Exception):
    """The hub stops reading at the current blob and answers ``400`` (or 503, 408) for it."""


class _Cut(Exception):
    """The connection broke while the body was read."""


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The body's chunks; a broken connection is :class:`_Cut`, told apart from an error of
    the hub's own disk while it handles a chunk."""
    try:
        async for data in body_chunks(request):
            yield data
    except _BROKEN:
        raise _Cut from None


class UploadSession:
    """The blobs of one request in order; at most one of them is held (locked, file open)."""

    def __init__(self, request: web.Request, hub: HubState, agency: str, *,
                 recode: bool = False, resume: HeldPiece | None = None) -> None:
        self._request = request
        self._recode = recode  # recoded frames may come; dictionaries are in expanded form
        self._resume = resume  # the body goes on with the frame a cut interrupted
        self._hub = hub
        self._agency = agency
        self._at = Segment("", 0, 0, None)  # the blob the hub is at
        self._held = 0  # bytes of it the hub holds
        self._slot: tuple[str, UploadSlot] | None = None
        self._file: BinaryIO | None = None
        self._piece = b""  # what the hub held of the frame the body goes on with

    async def reply(self, first: Segment) -> web.Response:
        """Takes the body from ``first`` on; the answer about the blob it ended at."""
        try:
            response = await self._run(first)
        except web.HTTPException as exc:  # raised back below, as aiohttp wants
            response = exc
        finally:
            await self._close()
            self._release()
        if self._at.sha256 != first.sha256:
            response.headers[UPLOAD_BLOB] = self._at.sha256
        # Read after the blobs were routed: a box that is not long-polling syncs when it changed.
        response.headers[NEWS_HEADER] = str(await self._hub.store.inbox_mark(self._agency))
        if isinstance(response, web.HTTPException):
            raise response
        return response

    async def _run(self, first: Segment) -> web.Response:
        decoder = FrameDecoder(max_raw=self._hub.frame_max, chain=True, recode=self._recode,
                               dictionary=await self._begin(first, self._resume))
        error: str | None = None
        try:
            if self._piece:  # a frame's first bytes, checked when they came: nothing completes
                await self._take(decoder, decoder.feed(self._piece))
            async for data in _body(self._request):
                await self._take(decoder, await self._feed(decoder, data))
        except FrameError as exc:
            error = self._keep(exc.complete) or str(exc)
        except _Stop as exc:
            error = str(exc)
        except _Cut:
            self._cut(decoder)
        except BodyTimeout:
            self._cut(decoder)
            error = STALLED
        return await self._end(error)

    def _cut(self, decoder: FrameDecoder) -> None:
        """Keeps what arrived of the frame in flight for the box to go on with; only what
        cannot be kept is lost."""
        at, piece = self._at, decoder.pending()
        if not (self._file is not None and piece and self._hub.held_frames.keep(
                self._agency, at.sha256, self._held, piece, (at.dictionary, self._recode))):
            self._hub.lost_bytes += decoder.buffered

    async def _take(self, decoder: FrameDecoder, payloads: list[bytes]) -> None:
        """Appends ``payloads`` to the current blob, moving on at each chain frame."""
        self._write(payloads)
        while decoder.chained is not None:
            decoder.switch(await self._chain(decoder.chained))
            self._write(await self._feed(decoder, b""))

    async def _feed(self, decoder: FrameDecoder, data: bytes) -> list[bytes]:
        """A recoded frame is deflated again, up to megabytes of zlib: off the event loop."""
        return await asyncio.to_thread(decoder.feed, data) if self._recode \
            else decoder.feed(data)

    async def _chain(self, to: ChainTo) -> bytes | None:
        """Steps 1 and 2 of §4: the blob before is whole, verified and routed, then the next
        one is checked as a first blob. The content of that one's dictionary."""
        if self._held < self._at.size:
            raise _Stop("chain frame before the blob was whole")
        self._hub.count("chain")
        await self._close()
        await self._finish()
        self._release()
        return await self._begin(Segment.chained(to))

    async def _begin(self, at: Segment, resume: HeldPiece | None = None) -> bytes | None:
        """Checks ``at`` as §4 checks a request's first blob, takes its lock, takes the piece
        of a frame the body goes on with (``resume``), and opens its partial file; the content
        of its dictionary."""
        hub, blobs, sha = self._hub, self._hub.store.blobs, at.sha256
        self._at, self._held = at, 0
        size = await declared_size(hub, self._agency, sha)
        if at.size != size:
            raise web.HTTPBadRequest(text="Upload-Length differs from the document's attachment\n")
        await self._lock(sha)
        held = blobs.partial_size(sha)
        if blobs.has(sha) and sha not in {n.sha256 for n in await hub.store.needs(self._agency)}:
            raise web.HTTPNoContent(headers=_offset(size, complete=True))
        if at.offset != held:
            raise web.HTTPConflict(headers=_offset(held), text="offset mismatch\n")
        dictionary = await dictionary_for(hub, self._agency, sha, at.dictionary,
                                          expanded=self._recode)
        if resume is None:
            hub.held_frames.drop(self._agency, sha)  # its frames come from the offset anew
        else:
            piece = hub.held_frames.take(self._agency, sha, resume, (at.dictionary, self._recode))
            if piece is None:
                raise web.HTTPConflict(headers={DICT_REFUSED: RESUME_REFUSED},
                                       text="no such piece of a frame held; send it whole\n")
            self._piece = piece
        self._file = blobs.open_partial(sha, held)
        self._held = held
        return dictionary

    async def _lock(self, sha: str) -> None:
        self._slot = sha, await hold(self._hub.uploads, sha, self._request.transport)

    def _release(self) -> None:
        if self._slot is not None:
            (sha, slot), self._slot = self._slot, None
            release(self._hub.uploads, sha, slot)

    def _write(self, payloads: Sequence[bytes]) -> None:
        f = self._file
        assert f is not None  # _begin opened it
        for payload in payloads:
            if self._held + len(payload) > self._at.size:
                raise _Stop("more bytes than Upload-Length")
            try:
                f.write(payload)
                f.flush()  # HEAD reads the file size: a frame counts as held once in the file
            except OSError:
                f.truncate(self._held)  # never keep part of a frame: it ends on a boundary
                raise _Stop(DISK_FULL) from None
            self._held += len(payload)

    def _keep(self, payloads: Sequence[bytes]) -> str | None:
        """Writes the frames verified before a bad one; why not, if it cannot."""
        try:
            self._write(payloads)
        except _Stop as exc:
            return str(exc)
        return None

    async def _close(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            with f:
                await asyncio.to_thread(_sync, f)

    async def _end(self, error: str | None) -> web.Response:
        """The answer about the current blob once the body ended or ``error`` stopped it."""
        await self._close()
        sha, size, held = self._at.sha256, self._at.size, self._held
        if held == 0 < size:
            self._hub.store.blobs.discard_partial(sha)  # a refused request leaves no empty file
        if error == DISK_FULL:  # transient for the gateway: it keeps the document and retries
            raise web.HTTPServiceUnavailable(headers={**_offset(held), "Retry-After": "600"},
                                             text=f"{error}\n")
        if error == STALLED:
            raise web.HTTPRequestTimeout(headers=_offset(held), text=f"{error}\n")
        if error is not None:
            raise web.HTTPBadRequest(headers=_offset(held), text=f"{error}\n")
        if held < size:
            return web.Response(status=204, headers=_offset(held))
        await self._finish()
        return web.Response(status=204, headers=_offset(size, complete=True))

    async def _finish(self) -> None:
        """Verifies the whole current blob and routes every document it completed."""
        hub, sha = self._hub, self._at.sha256
        if not await asyncio.to_thread(hub.store.blobs.finish_partial, sha):
            raise web.HTTPUnprocessableEntity(headers={"Upload-Offset": "0"},
                                              text="sha256 mismatch: blob discarded\n")
        hub.notifier.notify(await hub.store.blob_completed(self._agency, sha))
        hub.signatures.stored()  # routed first: a signature check never delays delivery


async def hold(uploads: dict[str, UploadSlot], sha: str,
               transport: asyncio.Transport | None) -> UploadSlot:
    """Two requests never append to one blob: an earlier holder is a leftover of a cut
    (evicted, then waited for), or the answer is ``409``.

    The slot stays in ``uploads`` while any request holds or waits for it: a lock released
    to a waiter reads as unlocked until the waiter runs, and a slot dropped then let a third
    request take a fresh lock beside the waiter's (seen under load: one request's partial
    file finished or discarded under another's feet)."""
    slot = uploads.setdefault(sha, UploadSlot())
    if slot.lock.locked() and slot.holder is not None:
        slot.holder.abort()
    slot.users += 1
    try:
        await asyncio.wait_for(slot.lock.acquire(), EVICT_WAIT_S)
    except TimeoutError:
        _leave(uploads, sha, slot)
        raise web.HTTPConflict(text="another upload of this blob is in progress\n") from None
    except BaseException:
        _leave(uploads, sha, slot)
        raise
    slot.holder = transport
    return slot


def release(uploads: dict[str, UploadSlot], sha: str, slot: UploadSlot) -> None:
    slot.holder = None
    slot.lock.release()
    _leave(uploads, sha, slot)


def _leave(uploads: dict[str, UploadSlot], sha: str, slot: UploadSlot) -> None:
    slot.users -= 1
    if not slot.users and uploads.get(sha) is slot:
        del uploads[sha]


def _sync(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())


def _offset(held: int, *, complete: bool = False) -> dict[str, str]:
    """A ``204``'s headers carry no Upload-Length, which the gateway sent itself (§4)."""
    headers = {"Upload-Offset": str(held)}
    if complete:
        headers["Upload-Complete"] = "1"
    return headers
