"""Blob transfer endpoints: resumable frame-by-frame upload and ranged download.

Bytes are kept frame by frame as they arrive, so a cut costs at most the frame in flight.
Only a verified sha256 ever becomes part of a path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import BinaryIO

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.hub.auth import caller
from gateway.hub.bodies import BodyTimeout, body_chunks
from gateway.hub.state import HUB, HubState, UploadSlot
from gateway.protocol.compression import CompressionError
from gateway.protocol.crossdoc import DICT_REFUSED, UPLOAD_DICT, Reference
from gateway.protocol.frames import FrameDecoder, FrameEncoder, FrameError
from gateway.protocol.limits import (
    FRAME_ZSTD_LEVEL,
    FRAMES_TYPE,
    MAX_FRAME,
    MIN_FRAME,
    XDOC_WAIT_S,
)
from gateway.protocol.seen import NEWS_HEADER
from gateway.store.blobs import SHA256_HEX

EVICT_WAIT_S = 10.0
FINISH_POLL_S = 0.05
SEND_BUFFER = 64 * 1024
DISK_FULL = "the hub's disk is full"
STALLED = "upload stalled"


def _digest(request: web.Request) -> str:
    sha = request.match_info["sha256"]
    if not SHA256_HEX.fullmatch(sha):
        raise web.HTTPBadRequest(text="invalid sha256\n")
    return sha


def _int_header(request: web.Request, name: str) -> int:
    value = request.headers.get(name, "")
    if not (value.isascii() and value.isdigit()) or len(value) > 15:  # not "²": int() fails
        raise web.HTTPBadRequest(text=f"missing or invalid {name}\n")
    return int(value)


async def _declared_size(hub: HubState, agency: str, sha: str) -> int:
    size = await hub.store.upload_size(agency, sha)
    if size is None:
        raise web.HTTPNotFound(text="no accepted document of yours uses this blob\n")
    return size


async def handle_head(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    agency, sha = caller(request), _digest(request)
    size = await _declared_size(hub, agency, sha)
    needs = {n.sha256 for n in await hub.store.needs(agency)}
    done = sha not in needs and hub.store.blobs.has(sha)
    # Content-Length: without it aiohttp's client cannot tell the answer ended and closes the
    # connection, so the PATCH that follows a HEAD paid a new TLS handshake after every cut.
    headers = {"Upload-Length": str(size), "Content-Length": "0",
               "Upload-Offset": str(size if done else hub.store.blobs.partial_size(sha))}
    if done:
        headers["Upload-Complete"] = "1"
    return web.Response(status=200, headers=headers)


async def handle_patch(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    agency, sha = caller(request), _digest(request)
    hub.count("patch")
    size = await _declared_size(hub, agency, sha)
    if _int_header(request, "Upload-Length") != size:
        raise web.HTTPBadRequest(text="Upload-Length differs from the document's attachment\n")
    offset = _int_header(request, "Upload-Offset")
    slot = hub.uploads.setdefault(sha, UploadSlot())
    if slot.lock.locked() and slot.holder is not None:
        slot.holder.abort()  # the same blob's earlier request is a leftover of a cut
    try:
        await asyncio.wait_for(slot.lock.acquire(), EVICT_WAIT_S)
    except TimeoutError:
        raise web.HTTPConflict(text="another upload of this blob is in progress\n") from None
    try:
        slot.holder = request.transport
        reply = await _append(request, hub, agency, sha, offset, size)
    finally:
        slot.holder = None
        slot.lock.release()
        if not slot.lock.locked():
            hub.uploads.pop(sha, None)
    # Read after the blob was routed: a box that is not long-polling syncs when it changed.
    reply.headers[NEWS_HEADER] = str(await hub.store.inbox_mark(agency))
    return reply


async def _append(request: web.Request, hub: HubState, agency: str, sha: str, offset: int,
                  size: int) -> web.Response:
    blobs = hub.store.blobs
    held = blobs.partial_size(sha)
    if blobs.has(sha) and sha not in {n.sha256 for n in await hub.store.needs(agency)}:
        return _offset_reply(size, complete=True)
    if offset != held:
        raise web.HTTPConflict(headers={"Upload-Offset": str(held)}, text="offset mismatch\n")
    decoder = FrameDecoder(max_raw=hub.frame_max,
                           dictionary=await _dictionary(request, hub, agency, sha))
    error: str | None = None
    with blobs.open_partial(sha, offset) as f:
        try:
            async for data in body_chunks(request):
                held = _write(f, decoder.feed(data), held, size)
        except FrameError as exc:
            held = _write(f, list(exc.complete), held, size)
            error = str(exc)
        except _TooLong:
            error = "more bytes than Upload-Length"
        except _DiskFull:
            error = DISK_FULL
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ClientPayloadError,
                HttpProcessingError):
            hub.lost_bytes += decoder.buffered  # a cut: only the frame in flight is lost
        except BodyTimeout:
            hub.lost_bytes += decoder.buffered
            error = STALLED
        finally:
            await asyncio.to_thread(_sync, f)
    if held == 0 < size:
        blobs.discard_partial(sha)  # nothing kept: a refused request leaves no empty file
    if error == DISK_FULL:  # transient for the gateway: it keeps the document and retries
        raise web.HTTPServiceUnavailable(headers={"Upload-Offset": str(held),
                                                  "Retry-After": "600"}, text=f"{error}\n")
    if error == STALLED:
        raise web.HTTPRequestTimeout(headers={"Upload-Offset": str(held)}, text=f"{error}\n")
    if error is not None:
        raise web.HTTPBadRequest(headers={"Upload-Offset": str(held)}, text=f"{error}\n")
    if held < size:
        return _offset_reply(held, complete=False)
    if not await asyncio.to_thread(blobs.finish_partial, sha):
        raise web.HTTPUnprocessableEntity(headers={"Upload-Offset": "0"},
                                          text="sha256 mismatch: blob discarded\n")
    hub.notifier.notify(await hub.store.blob_completed(agency, sha))
    hub.signatures.stored()  # routed first: a signature check never delays delivery
    return _offset_reply(size, complete=True)


async def _dictionary(request: web.Request, hub: HubState, agency: str,
                      sha: str) -> bytes | None:
    """The content an ``Upload-Dict`` header names, if the caller may use it: the start of
    another complete, verified blob that the caller holds (uploaded or received), so that a
    dictionary can never become an oracle on bytes the caller could not read anyway."""
    value = request.headers.get(UPLOAD_DICT)
    if value is None:
        return None
    try:
        ref = Reference.parse(value)
    except CompressionError as exc:
        raise _dict_refused("malformed", str(exc)) from None
    blobs = hub.store.blobs
    if ref.sha256 != sha and not blobs.has(ref.sha256):
        await _finishing(hub, ref.sha256)
    if ref.sha256 == sha or not blobs.has(ref.sha256) \
            or not await hub.store.may_read(agency, ref.sha256):
        raise _dict_refused("unknown", "no complete blob of yours has this digest")
    try:
        if ref.length > blobs.size(ref.sha256):
            raise _dict_refused("length", "the reference is longer than its blob")
        content = await asyncio.to_thread(blobs.read_range, ref.sha256, 0, ref.length)
    except OSError:  # swept meanwhile
        raise _dict_refused("unknown", "no complete blob of yours has this digest") from None
    hub.count("patch_dict")
    return content


async def _finishing(hub: HubState, sha: str) -> None:
    """Waits (up to XDOC_WAIT_S) while an upload of ``sha`` is running: a gateway starts its
    next blob while the previous one is in its last frame, and names that one, the nearest
    in content, as dictionary. A cut ends the wait early; the caller then checks as always."""
    deadline = asyncio.get_running_loop().time() + XDOC_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        slot = hub.uploads.get(sha)
        if slot is None or not slot.lock.locked():
            return
        await asyncio.sleep(FINISH_POLL_S)


def _dict_refused(token: str, reason: str) -> web.HTTPConflict:
    return web.HTTPConflict(headers={DICT_REFUSED: token},
                            text=f"dictionary refused: {reason}\n")


class _TooLong(Exception):
    pass


class _DiskFull(Exception):
    pass


def _write(f: BinaryIO, payloads: list[bytes] | tuple[bytes, ...], held: int, size: int) -> int:
    for payload in payloads:
        if held + len(payload) > size:
            raise _TooLong
        try:
            f.write(payload)
            f.flush()  # HEAD reads the file size: a frame counts as held once it is in the file
        except OSError:
            f.truncate(held)  # never keep part of a frame: the file ends on a frame boundary
            raise _DiskFull from None
        held += len(payload)
    return held


def _sync(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())


def _offset_reply(held: int, *, complete: bool) -> web.Response:
    """``204``: no Upload-Length, which the gateway sent itself (docs/protocol.md §4)."""
    headers = {"Upload-Offset": str(held)}
    if complete:
        headers["Upload-Complete"] = "1"
    return web.Response(status=204, headers=headers)


def _query_int(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 15:
        raise web.HTTPBadRequest(text=f"invalid {name}\n")
    return int(value)


async def handle_get(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    agency, sha = caller(request), _digest(request)
    hub.count("get")
    blobs = hub.store.blobs
    readable = hub.signatures.readable_by_all(sha) or await hub.store.may_read(agency, sha)
    if not readable or not blobs.has(sha):
        raise web.HTTPNotFound(text="no such blob for you\n")
    hub.progress[agency] = hub.store.clock()  # a long download is progress (fleet: stalled)
    size = blobs.size(sha)
    offset = _query_int(request, "offset", 0)
    if offset > size:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Upload-Length": str(size)})
    end = min(size, offset + _query_int(request, "limit", size))
    frame = min(MAX_FRAME, max(MIN_FRAME, _query_int(request, "frame", 64 * 1024)))
    response = web.StreamResponse(headers={"Upload-Length": str(size),
                                           "Content-Type": FRAMES_TYPE})
    await response.prepare(request)
    if request.transport is not None:
        # Keep the TLS transport from queueing a whole slice per gateway in the hub's memory.
        request.transport.set_write_buffer_limits(high=SEND_BUFFER)
    encoder = FrameEncoder(level=FRAME_ZSTD_LEVEL)  # the hub's CPU serves the whole fleet
    with contextlib.suppress(ConnectionError):
        with blobs.path(sha).open("rb") as f:
            f.seek(offset)
            position = offset
            while position < end:
                raw = f.read(min(frame, end - position))
                if not raw:
                    break
                position += len(raw)
                await response.write(encoder.encode(raw))
        await response.write_eof()
    return response
