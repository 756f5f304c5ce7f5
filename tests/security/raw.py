"""HTTP bytes exactly as written, on a real TLS connection: for what aiohttp's client would
normalise away (dot segments, encoded slashes, broken framing) and for hanging up mid-body."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl

from tests.security.hostile import Hub, Reply, Statuses, refused


def _skip_interim(raw: bytes) -> bytes:
    while raw.startswith(b"HTTP/1.1 1"):  # 100 Continue and friends
        raw = raw.partition(b"\r\n\r\n")[2]
    return raw


def _complete(raw: bytes) -> bool:
    head, sep, rest = _skip_interim(raw).partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def parse_http(raw: bytes, fingerprint: str) -> Reply:
    head, _, rest = _skip_interim(raw).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2:]
        return Reply(status, headers, bytes(body), fingerprint)
    if "content-length" in lowered:
        rest = rest[:int(lowered["content-length"])]
    return Reply(status, headers, rest, fingerprint)


async def raw_http(hub: Hub, ctx: ssl.SSLContext, data: bytes,
                   *, hang_up_after_send: bool = False) -> Reply | None:
    """Sends ``data`` as-is on a fresh TLS connection and reads until the hub closes it."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", hub.running.port, ssl=ctx, server_hostname="127.0.0.1")
    chunks: list[bytes] = []
    try:
        writer.write(data)
        await writer.drain()
        if hang_up_after_send:
            return None
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 10)
            except (ConnectionError, ssl.SSLError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if _complete(b"".join(chunks)):
                break  # the hub may linger on an unread body; the answer is all we need
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
            await writer.wait_closed()
    fingerprint = hashlib.sha256(b"raw:" + data).hexdigest()
    return parse_http(b"".join(chunks), fingerprint)


async def raw_refused(hub: Hub, category: str, ctx: ssl.SSLContext, data: bytes,
                      allowed: Statuses | None = None) -> Reply:
    async def send() -> Reply:
        reply = await raw_http(hub, ctx, data)
        assert reply is not None
        return reply

    return await refused(hub, category, send, allowed=allowed)
