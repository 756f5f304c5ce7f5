"""Blob transfer endpoints: resumable frame-by-frame upload and ranged download.

Bytes are kept frame by frame as they arrive, so a cut costs at most the frame in flight, and
of that only what the hub could not keep as a piece to go on with
(:mod:`gateway.hub.held_frames`; :mod:`gateway.hub.upload_session` takes a ``PATCH`` body, one
blob or a chain of them).
Only a verified sha256 ever becomes part of a path.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from gateway.hub.auth import caller
from gateway.hub.state import HUB
from gateway.hub.upload_session import Segment, UploadSession, declared_size
from gateway.protocol.crossdoc import DICT_REFUSED, RECODE, UPLOAD_DICT, UPLOAD_RECODE
from gateway.protocol.frame_resume import FRAME_HELD, FRAME_RESUME, HeldPiece
from gateway.protocol.frames import FrameEncoder
from gateway.protocol.limits import FRAME_ZSTD_LEVEL, FRAMES_TYPE, MAX_FRAME, MIN_FRAME
from gateway.store.blobs import SHA256_HEX

SEND_BUFFER = 64 * 1024


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


async def handle_head(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    agency, sha = caller(request), _digest(request)
    size = await declared_size(hub, agency, sha)
    needs = {n.sha256 for n in await hub.store.needs(agency)}
    done = sha not in needs and hub.store.blobs.has(sha)
    # Content-Length: without it aiohttp's client cannot tell the answer ended and closes the
    # connection, so the PATCH that follows a HEAD paid a new TLS handshake after every cut.
    held = size if done else hub.store.blobs.partial_size(sha)
    headers = {"Upload-Length": str(size), "Content-Length": "0", "Upload-Offset": str(held)}
    if done:
        headers["Upload-Complete"] = "1"
    elif (piece := hub.held_frames.peek(agency, sha, held)) is not None:
        headers[FRAME_HELD] = piece.header()
    return web.Response(status=200, headers=headers)


async def handle_patch(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    agency, sha = caller(request), _digest(request)
    hub.count("patch")
    size = _int_header(request, "Upload-Length")
    first = Segment(sha, _int_header(request, "Upload-Offset"), size,
                    request.headers.get(UPLOAD_DICT))
    resume = _resume(request, first.offset)
    recode = request.headers.get(UPLOAD_RECODE)
    if recode not in (None, RECODE):  # another version, or another zlib: it deflates otherwise
        raise web.HTTPConflict(headers={DICT_REFUSED: "recode"},
                               text=f"recoded frames refused: this hub does {RECODE}\n")
    if recode is not None:
        hub.count("patch_recode")
    return await UploadSession(request, hub, agency, recode=recode is not None,
                               resume=resume).reply(first)


def _resume(request: web.Request, offset: int) -> HeldPiece | None:
    """The piece of a frame that ``Upload-Frame-Resume`` says the body goes on from."""
    value = request.headers.get(FRAME_RESUME)
    if value is None:
        return None
    try:
        return HeldPiece.parse(offset, value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid {FRAME_RESUME}\n") from None


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
