"""HTTP to the hub: one small client per gateway, over mutual TLS; the box's :class:`HubLink`.

Every network failure comes out as :class:`HubUnavailable`, an answer as the error class
:mod:`gateway.sync.link` gives its status. The send buffer is capped so a frame counts as sent
when it has left for the link, not when it was parked in the kernel: the kernel keeps at most
:data:`NOTSENT_LOWAT` bytes not yet sent (``TCP_NOTSENT_LOWAT``) and the TLS and socket
transports :data:`WRITE_HIGH` each, so about one frame of a 3G uplink waits between the
uploader and the link, and a Hỏa tốc document overtakes after that, not after seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractStreamWriter
from aiohttp.client_proto import ResponseHandler

from gateway.protocol.compression import SyncCompressor
from gateway.protocol.crossdoc import (
    DICT_REFUSED,
    RECODE,
    UPLOAD_BLOB,
    UPLOAD_CHAIN,
    UPLOAD_DICT,
    UPLOAD_DICT_MAX,
    UPLOAD_DICT_REFS,
    UPLOAD_RECODE,
    UPLOAD_RECODE_OFFER,
    Reference,
    references_header,
)
from gateway.protocol.frame_resume import (
    FRAME_HELD,
    FRAME_RESUME,
    RESUME_REFUSED,
    UPLOAD_HELD,
    UPLOAD_RESUME_OFFER,
    HeldPiece,
    parse_held_list,
)
from gateway.protocol.frames import FrameDecoder, FrameError
from gateway.protocol.limits import FRAMES_TYPE, MAX_XDOC_DICT, MAX_XDOC_REFS
from gateway.protocol.seen import NEED_HEADER, NEWS_HEADER, SEEN_HEADER, need_digest, news_mark
from gateway.protocol.wire import (
    EPOCH_HEADER,
    SyncReply,
    SyncRequest,
    WireError,
    decode_reply,
    encode_request,
)
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

DEFAULT_SNDBUF = 32 * 1024  # room for the bytes in flight (a 3G link's ~13 KB BDP and more)
NOTSENT_LOWAT = 8 * 1024  # bytes the kernel may hold that have not left yet
WRITE_HIGH = 8 * 1024  # asyncio's own write buffers (TLS and socket transport), each
MAX_WRITE_HIGH = 64 * 1024
QUEUE_S = 0.25  # an upload's TLS write buffer: this much of its measured rate
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, ConnectionError)
RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
# Timeouts, rate limits and a proxy's gateway errors concern the link, not the request.
LINK_STATUSES = (408, 429, 502, 504)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def failure_kind(exc: BaseException) -> str:
    """Which of :data:`gateway.model.link.REASONS` a network failure is, for the clerk."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "tls"
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return "unreachable"
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return "timeout"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError
                  | ConnectionResetError | BrokenPipeError):
        return "dropped"
    if isinstance(exc, OSError) and exc.errno in RESET_ERRNOS:  # aiohttp's ClientOSError
        return "dropped"
    return "network"


def _socket_factory(sndbuf: int | None) -> aiohttp.connector.SocketFactoryType | None:
    if sndbuf is None:
        return None

    def make(addr: AddrInfoType) -> socket.socket:
        family, type_, proto, _, _ = addr
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, sndbuf)
        if hasattr(socket, "TCP_NOTSENT_LOWAT"):  # Linux, macOS
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, NOTSENT_LOWAT)
        return sock

    return make


class _ThinPipeConnector(aiohttp.TCPConnector):
    """Caps the TLS transport's write buffer and the socket transport's under it, as well as
    the kernel's.

    asyncio's TLS transport otherwise accepts about a megabyte before it pushes back (and the
    socket transport below it 64 KiB more), so a request body is read from disk long before it
    can leave: frames could not be overtaken by a more urgent document, link pacing would
    measure memory instead of the link, and a large attachment would sit in RAM on a 1 GB box.
    """

    def __init__(self, *, write_high: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._write_high = write_high

    async def _wrap_create_connection(
        self, *args: Any, **kwargs: Any
    ) -> tuple[asyncio.Transport, ResponseHandler]:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        transport.set_write_buffer_limits(high=self._write_high)
        # The socket transport under TLS is not public; without it 64 KiB more would wait.
        ssl_protocol = getattr(transport, "_ssl_protocol", None)
        raw = getattr(ssl_protocol, "_transport", None)
        if isinstance(raw, asyncio.WriteTransport):
            raw.set_write_buffer_limits(high=self._write_high)
        return transport, protocol


class _DrainedFrames(aiohttp.payload.Payload):
    """An upload body that waits for the transport after every piece: aiohttp's own streaming
    body waits only once 64 KiB have piled up, a whole frame's time of waiting on 3G.

    The TLS write buffer then follows the rate the body leaves at: :data:`QUEUE_S` of it
    (within :data:`WRITE_HIGH` … :data:`MAX_WRITE_HIGH`), so a faster link keeps enough queued
    to ride out a busy event loop, and a slow one never more than a fraction of a frame.
    """

    def __init__(self, frames: AsyncIterator[bytes]) -> None:
        super().__init__(frames, content_type=FRAMES_TYPE)
        self._frames = frames

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("an upload body is not text")

    async def write(self, writer: AbstractStreamWriter) -> None:
        transport = getattr(writer, "transport", None)
        started, sent = time.monotonic(), 0
        async for piece in self._frames:
            await writer.write(piece)
            await writer.drain()
            sent += len(piece)
            elapsed = time.monotonic() - started
            if isinstance(transport, asyncio.WriteTransport) and elapsed >= 1.0:
                high = int(sent / elapsed * QUEUE_S)
                transport.set_write_buffer_limits(high=min(MAX_WRITE_HIGH,
                                                           max(WRITE_HIGH, high)))


class HubClient:
    def __init__(self, base_url: str, ssl_context: ssl.SSLContext | None, *,
                 compressor: SyncCompressor | None = None,
                 sndbuf: int | None = DEFAULT_SNDBUF, connect_timeout_s: float = 20.0,
                 read_timeout_s: float = 60.0) -> None:
        self.base = base_url.rstrip("/")
        self.compressor = compressor or SyncCompressor()
        self.dict_id = 0
        self.upload_dict_max = 0
        self.upload_chain = False
        self.upload_recode = False
        self.upload_dict_refs = 1
        self.upload_resume = False
        self.frames_held: dict[str, HeldPiece] = {}
        self.need_shas: tuple[str, ...] = ()  # of the last reply: named in X-Sync-Need
        self.news = ""
        self.read_timeout_s = read_timeout_s
        connector = _ThinPipeConnector(
            ssl=ssl_context if ssl_context else False, limit=6,
            socket_factory=_socket_factory(sndbuf),
            write_high=WRITE_HIGH if sndbuf else 2**16)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=connect_timeout_s,
                                          sock_read=read_timeout_s),
            # aiohttp's own Accept, Accept-Encoding and User-Agent would be ~70 bytes on every
            # request on a metered link; the hub reads none of them, the version goes in the
            # heartbeat. Nor does it read Content-Type on a sync or PATCH, whose path says what
            # the body is (42 bytes each; docs/protocol.md §3, §4).
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )

    async def close(self) -> None:
        await self.session.close()

    @contextlib.asynccontextmanager
    async def _request(self, method: str, path: str,
                       **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        """One request; every network failure, during it or while reading, is HubUnavailable."""
        try:
            async with self.session.request(method, f"{self.base}{path}", **kwargs) as resp:
                yield resp
        except NETWORK_ERRORS as exc:
            raise HubUnavailable(str(exc) or type(exc).__name__, failure_kind(exc)) from None

    async def sync(self, req: SyncRequest, seen: str = "") -> SyncReply:
        body = self.compressor.compress(encode_request(req), self.dict_id)
        headers = {"X-Sync-Dict": str(self.dict_id), "X-Sync-Dicts": self.compressor.offer(),
                   EPOCH_HEADER: "1"}
        if seen:
            headers[SEEN_HEADER] = seen
        known = self.need_shas  # the list this request names; a later reply may replace it
        if known:
            headers[NEED_HEADER] = need_digest(known)
        timeout = aiohttp.ClientTimeout(total=req.wait + self.read_timeout_s)
        async with self._request("POST", "/v1/sync", data=body, headers=headers,
                                 timeout=timeout) as resp:
            await _check(resp)
            raw = await resp.read()
            reply_dict = resp.headers.get("X-Sync-Dict", "0")
            news = news_mark(resp.headers.get(NEWS_HEADER))
        try:
            reply = decode_reply(self.compressor.decompress(raw, int(reply_dict)), known=known)
        except (WireError, ValueError) as exc:
            raise HubUnavailable(f"unreadable reply: {exc}", "reply") from None
        self.news = news  # only once the reply can be applied
        self.dict_id = reply.config.dict_id if reply.config.dict_id in self.compressor.ids() \
            else 0
        self.need_shas = tuple(n.sha256 for n in reply.need)
        if reply.need:  # the hub says it alongside needs only (docs/protocol.md §3)
            self.upload_dict_max = _dict_max(resp.headers.get(UPLOAD_DICT_MAX, ""))
            self.upload_chain = resp.headers.get(UPLOAD_CHAIN) == "1"
            self.upload_recode = resp.headers.get(UPLOAD_RECODE_OFFER) == RECODE
            self.upload_dict_refs = _dict_refs(resp.headers.get(UPLOAD_DICT_REFS, ""))
            self.upload_resume = resp.headers.get(UPLOAD_RESUME_OFFER) == "1"
        self.frames_held = parse_held_list(resp.headers.get(UPLOAD_HELD, ""), self.need_shas) \
            if self.upload_resume else {}
        return reply

    async def upload(self, sha256: str, offset: int, size: int, frames: AsyncIterator[bytes],
                     references: tuple[Reference, ...] = (),
                     recode: bool = False, resume: HeldPiece | None = None) -> UploadResult:
        """Streams frames from ``offset``; a 409 is not an error but the hub's true offset.
        The answer is about the blob the hub names in ``Upload-Blob`` (absent: ``sha256``)."""
        headers = {"Upload-Offset": str(offset), "Upload-Length": str(size)}
        if references:
            headers[UPLOAD_DICT] = references_header(references)
        if recode:
            headers[UPLOAD_RECODE] = RECODE
        if resume is not None:
            headers[FRAME_RESUME] = resume.header()
        async with self._request("PATCH", f"/v1/blobs/{sha256}", data=_DrainedFrames(frames),
                                 headers=headers) as resp:
            blob = _named_blob(resp, sha256)
            start = offset if blob == sha256 else 0  # a chained blob's answer says its offset
            try:
                if resp.status == 409 and DICT_REFUSED in resp.headers:
                    refused = ResumeRefused if resp.headers[DICT_REFUSED] == RESUME_REFUSED \
                        else DictRefused
                    raise refused(409, (await resp.text())[:300].strip())
                if resp.status == 409 and "Upload-Offset" in resp.headers:
                    return _offsets(resp, start, blob)
                if resp.status == 422:  # the hub discarded a whole that did not match its digest
                    raise BlobRejected(f"hub found sha256 mismatch for {blob[:12]}")
                await _check(resp)
                return _offsets(resp, start, blob)
            except HubError as exc:
                exc.blob = blob
                raise

    async def head(self, sha256: str) -> UploadResult:
        """How much of a blob the hub holds: asked after a cut, before sending more."""
        async with self._request("HEAD", f"/v1/blobs/{sha256}") as resp:
            await _check(resp)
            result = _offsets(resp, 0, sha256)
            self.frames_held.pop(sha256, None)
            with contextlib.suppress(ValueError):  # unreadable: that frame goes whole
                self.frames_held[sha256] = HeldPiece.parse(
                    result.offset, resp.headers.get(FRAME_HELD, ""))
            return result

    async def download(self, sha256: str, offset: int, limit: int,
                       frame: int) -> AsyncIterator[bytes]:
        """Yields verified payloads from ``offset``; the caller appends and resumes."""
        params = {"offset": str(offset), "limit": str(limit), "frame": str(frame)}
        decoder = FrameDecoder()
        try:
            async with self._request("GET", f"/v1/blobs/{sha256}", params=params) as resp:
                await _check(resp)
                async for data in resp.content.iter_any():
                    for payload in decoder.feed(data):
                        yield payload
        except FrameError as exc:
            for payload in exc.complete:
                yield payload
            raise HubUnavailable(f"bad frame from hub: {exc}", "reply") from None

    async def post_json(self, path: str, payload: object) -> object:
        async with self._request("POST", path, json=payload,
                                 headers={"Content-Type": "application/json"}) as resp:
            await _check(resp)
            result: object = await resp.json()
            return result

    async def get_text(self, path: str) -> str:
        async with self._request("GET", path) as resp:
            await _check(resp)
            return await resp.text()


def _dict_max(value: str) -> int:
    """The hub's ``X-Upload-Dict``: absent (an older hub) or unreadable is 0, no dictionary."""
    if not (value.isascii() and value.isdigit()) or len(value) > 8:
        return 0
    return min(int(value), MAX_XDOC_DICT)


def _dict_refs(value: str) -> int:
    """The hub's ``X-Upload-Dict-Refs``: absent (an older hub) or unreadable is 1."""
    if not (value.isascii() and value.isdigit()) or len(value) > 2:
        return 1
    return max(1, min(int(value), MAX_XDOC_REFS))


def _named_blob(resp: aiohttp.ClientResponse, sha256: str) -> str:
    """The blob an upload's answer is about: ``Upload-Blob`` in a chain (§4), else the path's."""
    named = resp.headers.get(UPLOAD_BLOB, sha256)
    if not _SHA256.fullmatch(named):
        raise HubUnavailable("unreadable Upload-Blob", "reply")
    return named


def _offsets(resp: aiohttp.ClientResponse, default: int, blob: str) -> UploadResult:
    try:
        held = int(resp.headers.get("Upload-Offset", default))
    except ValueError:
        raise HubUnavailable("unreadable Upload-Offset", "reply") from None
    return UploadResult(held, resp.headers.get("Upload-Complete") == "1",
                        news_mark(resp.headers.get(NEWS_HEADER)), blob)


async def _check(resp: aiohttp.ClientResponse) -> None:
    if resp.status < 400:
        return
    reason = (await resp.text())[:300].strip()
    if resp.status in LINK_STATUSES or (resp.status == 503 and "Retry-After" in resp.headers):
        # A 503 with Retry-After is the hub as a whole saying "later" (its disk is below the
        # reserve): like a down link it must not count against the documents that met it.
        raise HubUnavailable(f"{resp.status} {reason}", "busy")
    if resp.status >= 500:
        raise HubFault(resp.status, reason)
    raise HubRefused(resp.status, reason)
